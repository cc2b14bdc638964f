// ops/cpu/gelu.cc — tanh-form GELU on the CPU. Uses 0.5·(1 + tanh(u)) = sigmoid(2u), so one
// vectorisable exp per element and no cancellation for large negative x.
#include "ops/gelu.h"

#include <immintrin.h>

#include <cmath>

#include "ops/cpu/vec_math.h"
#include "ops/dispatch.h"

namespace tigerfg::ops {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;
constexpr int64_t kParallelElements = 1 << 15;

// u = sqrt(2/pi) (x + 0.044715 x^3)
float Inner(float v) { return kSqrt2OverPi * (v + kCubic * v * v * v); }

__m256 Inner8(__m256 v) {
  const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
  return _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                       _mm256_fmadd_ps(_mm256_set1_ps(kCubic), v3, v));
}

}  // namespace

void GeluForward(const Context& ctx, Tensor out, const Tensor& x) {
  TIGERFG_CUDA_DISPATCH(GeluForward(ctx, out, x));
  CHECK_EQ(out.numel(), x.numel())
      << "gelu: out " << out.shape().ToString() << " vs x " << x.shape().ToString();
  const float* px = x.f32();
  float* py = out.f32();
  const int64_t n = x.numel();
  const int64_t vector_end = n / 8 * 8;
#pragma omp parallel for if (n > kParallelElements)
  for (int64_t i = 0; i < vector_end; i += 8) {
    const __m256 v = _mm256_loadu_ps(px + i);
    const __m256 e = cpu::Exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), Inner8(v)));
    _mm256_storeu_ps(py + i, _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
  }
  for (int64_t i = vector_end; i < n; ++i) {
    const float v = px[i];
    py[i] = v / (1.0f + std::exp(-2.0f * Inner(v)));
  }
}

void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x) {
  TIGERFG_CUDA_DISPATCH(GeluBackward(ctx, dx, dout, x));
  CHECK(dx.numel() == x.numel() && dout.numel() == x.numel())
      << "gelu: dx " << dx.shape().ToString() << " / dout " << dout.shape().ToString() << " vs x "
      << x.shape().ToString();
  const float* px = x.f32();
  const float* pd = dout.f32();
  float* pdx = dx.f32();
  const int64_t n = x.numel();
  const int64_t vector_end = n / 8 * 8;
  // gelu'(x) = s + 2 x s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3·0.044715 x^2)
#pragma omp parallel for if (n > kParallelElements)
  for (int64_t i = 0; i < vector_end; i += 8) {
    const __m256 v = _mm256_loadu_ps(px + i);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = cpu::Exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), Inner8(v)));
    const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
    const __m256 v2 = _mm256_mul_ps(v, v);
    const __m256 du = _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                                    _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kCubic), v2, one));
    // s + 2 v s (1 - s) du
    const __m256 t = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), v),
                                   _mm256_mul_ps(_mm256_sub_ps(one, s), du));
    const __m256 grad = _mm256_fmadd_ps(s, t, s);
    _mm256_storeu_ps(pdx + i, _mm256_mul_ps(_mm256_loadu_ps(pd + i), grad));
  }
  for (int64_t i = vector_end; i < n; ++i) {
    const float v = px[i];
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    const float s = 1.0f / (1.0f + std::exp(-2.0f * Inner(v)));
    pdx[i] = pd[i] * (s + 2.0f * v * s * (1.0f - s) * du);
  }
}

}  // namespace tigerfg::ops
