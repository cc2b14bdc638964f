// runtime/core/mark_clock.h — time stamps taken in the order of a context's work: host clocks on
// the CPU, CUDA events on the compute stream (runtime/core/cuda_probes.cu) on a GPU. Internal to
// the profiling primitives (step_timer, peak_memory).
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/core/context.h"

namespace tigerfg::profile {

class MarkClock {
 public:
  virtual ~MarkClock() = default;
  // Stamps mark `index` (0, 1, ... within one step) behind the work issued so far.
  virtual void Record(int index) = 0;
  // Waits until mark `count - 1` has passed, then writes ns[i] = time of mark i - time of mark 0
  // (non-decreasing) and returns the wall clock (ns since the Unix epoch) of mark 0.
  virtual int64_t Resolve(int count, int64_t* ns) = 0;
};

std::unique_ptr<MarkClock> MakeHostClock();

// CUDA builds only (the caller checks TIGERFG_WITH_CUDA): events recorded on ctx's compute stream.
std::unique_ptr<MarkClock> MakeCudaEventClock(const Context& ctx);

// CUDA builds only: device memory now on ctx's device, in bytes.
struct CudaMemorySample {
  int64_t used = 0;                // total - free (cudaMemGetInfo): every allocation on the device
  int64_t pool_reserved = 0;       // the default stream-ordered pool's reserved memory now
  int64_t pool_reserved_high = 0;  // and its high-water mark (cudaMemPoolAttrReservedMemHigh)
};
CudaMemorySample SampleCudaMemory(const Context& ctx);

}  // namespace tigerfg::profile
