// ops/cpu/gelu.cc — tanh-form GELU on the CPU. Uses 0.5·(1 + tanh(u)) = sigmoid(2u), so one
// vectorisable exp per element and no cancellation for large negative x.
#include "ops/gelu.h"

#include "ops/cpu/vec_math.h"
#include "ops/dispatch.h"

namespace tigerfg::ops {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;
constexpr int64_t kParallelElements = 1 << 15;

}  // namespace

void GeluForward(const Context& ctx, Tensor out, const Tensor& x) {
  TIGERFG_CUDA_DISPATCH(GeluForward(ctx, out, x));
  CHECK_EQ(out.numel(), x.numel())
      << "gelu: out " << out.shape().ToString() << " vs x " << x.shape().ToString();
  const float* px = x.f32();
  float* py = out.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float v = px[i];
    const float u = kSqrt2OverPi * (v + kCubic * v * v * v);
    py[i] = v / (1.0f + cpu::FastExp(-2.0f * u));
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
  // gelu'(x) = s + 2 x s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3·0.044715 x^2)
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float v = px[i];
    const float u = kSqrt2OverPi * (v + kCubic * v * v * v);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    const float s = 1.0f / (1.0f + cpu::FastExp(-2.0f * u));
    pdx[i] = pd[i] * (s + 2.0f * v * s * (1.0f - s) * du);
  }
}

}  // namespace tigerfg::ops
