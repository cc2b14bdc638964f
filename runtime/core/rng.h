// runtime/core/rng.h — deterministic counter-based random numbers (Philox-style mixing of a key and
// a counter), so a value is a pure function of (seed, stream, index) whatever the thread or rank.
#pragma once

#include <cstdint>

#include "runtime/core/tensor.h"

namespace tigerfg {

// 64-bit mix of (key, counter); SplitMix64 finaliser over both words.
uint64_t HashMix(uint64_t key, uint64_t counter);

class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0) : key_(HashMix(seed, stream)) {}
  uint64_t NextU64() { return HashMix(key_, counter_++); }
  // Uniform in [0, 1).
  double Uniform() { return (NextU64() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller).
  double Normal();
  // Uniform integer in [lo, hi).
  int64_t Int(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(NextU64() % (hi - lo)); }
  void FillNormal(const Tensor& t, float stddev = 1.0f);
  void FillUniform(const Tensor& t, float lo, float hi);
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

}  // namespace tigerfg
