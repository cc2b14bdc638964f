// ops/cpu/vec_math.h — branch-free float math the compiler can vectorise inside `omp simd` loops
// (glibc only offers vector expf under -ffast-math, which the build does not use).
#pragma once

#include <bit>
#include <cstdint>

namespace tigerfg::ops::cpu {

// exp(x) in float, within ~2 ulp (Cephes expf): x = n ln2 + r, |r| <= ln2/2, exp(r) by a
// degree-6 polynomial, 2^n put into the exponent bits. x < -87.3 (where exp(x) is denormal)
// gives 0, x > 88.7 gives exp(88.7) rather than inf, NaN stays NaN.
#pragma omp declare simd notinbranch
inline float FastExp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  const bool underflow = x < -87.3f;
  x = x > 88.7f ? 88.7f : x;
  x = x < -87.3f ? -87.3f : x;
  const float n = __builtin_roundevenf(x * kLog2e);
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // n in [-126, 128]: split 2^n into two factors so n = 128 stays finite.
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t half = ni >> 1;
  const float s1 = std::bit_cast<float>((half + 127) << 23);
  const float s2 = std::bit_cast<float>((ni - half + 127) << 23);
  return underflow ? 0.0f : p * s1 * s2;
}

}  // namespace tigerfg::ops::cpu
