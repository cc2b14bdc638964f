// runtime/core/rng.cc — counter-based random numbers.
#include "runtime/core/rng.h"

#include <cmath>

namespace tigerfg {

uint64_t HashMix(uint64_t key, uint64_t counter) {
  uint64_t z = key ^ (counter * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  z += key * 0xD6E8FEB86659FD93ull;
  z = (z ^ (z >> 32)) * 0xD6E8FEB86659FD93ull;
  return z ^ (z >> 32);
}

double Rng::Normal() {
  double u1 = Uniform(), u2 = Uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void Rng::FillNormal(const Tensor& t, float stddev) {
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(Normal() * stddev);
}

void Rng::FillUniform(const Tensor& t, float lo, float hi) {
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + static_cast<float>(Uniform()) * (hi - lo);
}

}  // namespace tigerfg
