// runtime/core/peak_memory.h — the peak memory of a run. CUDA: the device's used bytes
// (cudaMemGetInfo: every allocation on the device, the CUDA context and other processes included)
// sampled when Sample() is called, less the stream-ordered pool's memory at that moment, plus the
// pool's reserved high-water mark (so a transient pool peak between samples still counts). The
// model allocates its buffers before the first step and nothing inside one (DESIGN.md §4), so
// sampling at step ends misses nothing else. CPU: the process's maximum resident set (getrusage).
#pragma once

#include <cstdint>

#include "runtime/core/context.h"

namespace tigerfg::profile {

class PeakMemory {
 public:
  explicit PeakMemory(const Context& ctx);
  // Takes a sample; call at step ends (cheap: one driver query on CUDA, one syscall on the CPU).
  void Sample();
  int64_t peak_bytes() const { return peak_bytes_; }
  double peak_gib() const { return static_cast<double>(peak_bytes_) / (1024.0 * 1024 * 1024); }
  // What peak_bytes measures, for reports: "cuda_device_used" or "cpu_max_rss".
  const char* source() const;

 private:
  const Context& ctx_;
  int64_t outside_pool_high_ = 0;  // CUDA: max over samples of used - pool reserved
  int64_t peak_bytes_ = 0;
};

}  // namespace tigerfg::profile
