// ops/cpu/normalize.cc — F.normalize(x, dim=-1) on the CPU backend, rows in parallel.
#include "ops/normalize.h"

#include <algorithm>
#include <cmath>

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr float kNormEps = 1e-12f;  // F.normalize's default eps
constexpr int64_t kParallelElements = 1 << 14;

}  // namespace

void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x) {
  const int64_t D = x.dim(-1), N = RowCount(x, D);  // shapes checked by ops/normalize.cc
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
  const int64_t D = out.dim(-1), N = RowCount(out, D);  // shapes checked by ops/normalize.cc
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

}  // namespace tigerfg::ops::cpu
