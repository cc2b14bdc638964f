// runtime/core/peak_memory.cc — PeakMemory: getrusage on the CPU, the CUDA probes on a GPU.
#include "runtime/core/peak_memory.h"

#include <sys/resource.h>

#include <algorithm>

#include "runtime/core/mark_clock.h"

namespace tigerfg::profile {

PeakMemory::PeakMemory(const Context& ctx) : ctx_(ctx) { Sample(); }

void PeakMemory::Sample() {
#ifdef TIGERFG_WITH_CUDA
  if (ctx_.is_cuda()) {
    const CudaMemorySample s = SampleCudaMemory(ctx_);
    outside_pool_high_ = std::max(outside_pool_high_, s.used - s.pool_reserved);
    peak_bytes_ = std::max(peak_bytes_, outside_pool_high_ + s.pool_reserved_high);
    return;
  }
#endif
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    peak_bytes_ = std::max(peak_bytes_, static_cast<int64_t>(usage.ru_maxrss) * 1024);  // KiB
}

const char* PeakMemory::source() const {
  return ctx_.is_cuda() ? "cuda_device_used" : "cpu_max_rss";
}

}  // namespace tigerfg::profile
