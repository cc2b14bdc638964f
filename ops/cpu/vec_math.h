// ops/cpu/vec_math.h — AVX2 exp for the CPU ops' hot loops. GCC will not vectorise std::exp or
// even float clamps/rounding without -ffast-math / -fno-trapping-math, which the build does not
// use, so the vector code is written with intrinsics; scalar tails use std::exp.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace tigerfg::ops::cpu {

// exp(x) for 8 floats within ~2 ulp (Cephes expf): x = n ln2 + r, |r| <= ln2/2, exp(r) by a
// degree-6 polynomial, 2^n put into the exponent bits. x < -87.3 (where exp(x) is denormal)
// gives 0, x > 88.7 gives exp(88.7) rather than inf, NaN stays NaN.
inline __m256 Exp8(__m256 x) {
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_NLT_UQ);
  // min/max return their second operand when one is NaN: x goes second so NaN survives.
  x = _mm256_min_ps(_mm256_set1_ps(88.7f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  // n in [-126, 128]: 2^n as two factors so that n = 128 stays finite.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
  return _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(p, s1), s2), keep);
}

// Σ of 8 lanes, in double.
inline double HorizontalSum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  double s = 0;
  for (float lane : lanes) s += lane;
  return s;
}

// y[i] = exp(x[i] - shift) for i < n; returns Σ y. y may alias x.
inline double ExpShifted(float* y, const float* x, float shift, int64_t n) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  double sum = HorizontalSum(acc);
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] - shift);
    sum += y[i];
  }
  return sum;
}

// Σ exp(x[i] - shift) for i < n.
inline double SumExpShifted(const float* x, float shift, int64_t n) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm256_add_ps(acc, Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
  double sum = HorizontalSum(acc);
  for (; i < n; ++i) sum += std::exp(x[i] - shift);
  return sum;
}

}  // namespace tigerfg::ops::cpu
