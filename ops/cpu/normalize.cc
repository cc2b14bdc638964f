// ops/cpu/normalize.cc — F.normalize(x, dim=-1) on the CPU, rows in parallel.
#include "ops/normalize.h"

#include <algorithm>
#include <cmath>

#include "ops/dispatch.h"

namespace tigerfg::ops {
namespace {

constexpr float kNormEps = 1e-12f;  // F.normalize's default eps
constexpr int64_t kParallelElements = 1 << 14;

// Rows of t[..., D], checking the last dimension.
int64_t Rows(const Tensor& t, int64_t D, const char* name) {
  CHECK(t.ndim() >= 1 && t.dim(-1) == D)
      << "l2normalize: " << name << " " << t.shape().ToString() << ", last dimension must be " << D;
  return t.numel() / std::max<int64_t>(D, 1);
}

}  // namespace

void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x) {
  TIGERFG_CUDA_DISPATCH(L2NormalizeForward(ctx, out, norm, x));
  CHECK_GE(x.ndim(), 1) << "l2normalize: scalar x";
  CHECK(out.shape() == x.shape()) << "l2normalize: out " << out.shape().ToString() << " vs x "
                                  << x.shape().ToString();
  const int64_t D = x.dim(-1);
  const int64_t N = Rows(x, D, "x");
  CHECK_EQ(norm.numel(), N) << "l2normalize: norm " << norm.shape().ToString() << " for " << N
                            << " rows";
  const float* px = x.f32();
  float* py = out.f32();
  float* pn = norm.f32();
#pragma omp parallel for if (N * D > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = px + n * D;
    float* yr = py + n * D;
    double sq = 0;
#pragma omp simd reduction(+ : sq)
    for (int64_t d = 0; d < D; ++d) sq += static_cast<double>(xr[d]) * xr[d];
    const float length = static_cast<float>(std::sqrt(sq));
    pn[n] = length;
    const float inv = 1.0f / std::max(length, kNormEps);
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) yr[d] = xr[d] * inv;
  }
}

void L2NormalizeBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out,
                         const Tensor& norm) {
  TIGERFG_CUDA_DISPATCH(L2NormalizeBackward(ctx, dx, dout, out, norm));
  CHECK_GE(out.ndim(), 1) << "l2normalize: scalar out";
  CHECK(dx.shape() == out.shape() && dout.shape() == out.shape())
      << "l2normalize: dx " << dx.shape().ToString() << " / dout " << dout.shape().ToString()
      << " vs out " << out.shape().ToString();
  const int64_t D = out.dim(-1);
  const int64_t N = Rows(out, D, "out");
  CHECK_EQ(norm.numel(), N) << "l2normalize: norm " << norm.shape().ToString() << " for " << N
                            << " rows";
  const float* py = out.f32();
  const float* pd = dout.f32();
  const float* pn = norm.f32();
  float* pdx = dx.f32();
  // Above eps: dx = (dout - out (dout · out)) / ||x||. At or below eps the divisor is the constant
  // eps (clamp_min passes no gradient to the norm), as in PyTorch: dx = dout / eps.
#pragma omp parallel for if (N * D > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* yr = py + n * D;
    const float* dr = pd + n * D;
    float* dxr = pdx + n * D;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(dr[d]) * yr[d];
    const float proj = pn[n] > kNormEps ? static_cast<float>(dot) : 0.0f;
    const float inv = 1.0f / std::max(pn[n], kNormEps);
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) dxr[d] = (dr[d] - yr[d] * proj) * inv;
  }
}

}  // namespace tigerfg::ops
