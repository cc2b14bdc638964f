// runtime/core/cuda_probes.cu — the CUDA side of the profiling primitives: step marks as events on
// the compute stream, and device memory samples.
#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/core/buffer.h"
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"
#include "runtime/core/mark_clock.h"

namespace tigerfg::profile {

namespace {

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Events are created once and reused every step: no allocation once the step's mark count is
// known.
class CudaEventClock : public MarkClock {
 public:
  explicit CudaEventClock(const CudaHandles& h) : stream_(h.stream) {}
  ~CudaEventClock() override {
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }

  void Record(int index) override {
    while (static_cast<int>(events_.size()) <= index) {
      cudaEvent_t e = nullptr;
      CUDA_CHECK(cudaEventCreate(&e));
      events_.push_back(e);
    }
    CUDA_CHECK(cudaEventRecord(events_[index], stream_));
  }

  int64_t Resolve(int count, int64_t* ns) override {
    CHECK(count >= 1 && count <= static_cast<int>(events_.size()));
    CountHostWait();
    CUDA_CHECK(cudaEventSynchronize(events_[count - 1]));
    // The host wakes just after the last mark: anchoring the step there keeps consecutive steps
    // in order on the wall clock without drift over long runs.
    const int64_t now = UnixNowNs();
    ns[0] = 0;
    for (int i = 1; i < count; ++i) {
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, events_[0], events_[i]));
      ns[i] = std::max(ns[i - 1], static_cast<int64_t>(std::llround(double{ms} * 1e6)));
    }
    return now - ns[count - 1];
  }

 private:
  cudaStream_t stream_;
  std::vector<cudaEvent_t> events_;
};

}  // namespace

std::unique_ptr<MarkClock> MakeCudaEventClock(const Context& ctx) {
  CHECK(ctx.is_cuda() && ctx.cuda() != nullptr);
  return std::make_unique<CudaEventClock>(*ctx.cuda());
}

CudaMemorySample SampleCudaMemory(const Context& ctx) {
  CHECK(ctx.is_cuda() && ctx.cuda() != nullptr);
  CudaMemorySample s;
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  s.used = static_cast<int64_t>(total_bytes - free_bytes);
  cudaMemPool_t pool = nullptr;
  if (cudaDeviceGetDefaultMemPool(&pool, ctx.cuda()->device) == cudaSuccess) {
    std::uint64_t reserved = 0, high = 0;  // cuuint64_t, which the runtime API headers lack
    CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved));
    CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &high));
    s.pool_reserved = static_cast<int64_t>(reserved);
    s.pool_reserved_high = static_cast<int64_t>(high);
  } else {
    cudaGetLastError();  // no pool support: clear the error; `used` alone is the answer
  }
  return s;
}

}  // namespace tigerfg::profile
