// ops/cpu/layernorm.cc — LayerNorm over the last dimension on the CPU backend: rows in parallel,
// row statistics accumulated in double so long rows and large means lose nothing against PyTorch.
// The row loops are templated on the activation element type (float or bf16), chosen once per call.
#include "ops/layernorm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/backend.h"
#include "ops/checks.h"
#include "runtime/core/bf16.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr int64_t kParallelElements = 1 << 14;

// Rows of out[N, C] (float or bf16) from x[N, C] (float).
template <typename OutT>
void LayerNormForwardRows(OutT* py, float* pm, float* pr, const float* px, const float* pg,
                          const float* pb, int64_t N, int64_t C, float eps) {
#pragma omp parallel for if (N * C > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = px + n * C;
    OutT* yr = py + n * C;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += xr[c];
    const double mu = sum / C;
    double sq = 0;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < C; ++c) {
      const double d = xr[c] - mu;
      sq += d * d;
    }
    const float m = static_cast<float>(mu);
    const float r = static_cast<float>(1.0 / std::sqrt(sq / C + eps));
    pm[n] = m;
    pr[n] = r;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) StoreFromFloat(yr, c, (xr[c] - m) * r * pg[c] + pb[c]);
  }
}

// dx[N, C] (float or bf16) from dout[N, C] (float or bf16); per-thread dgamma/dbeta partials
// into partials[threads, 2C].
template <bool kAccumulate, typename DxT, typename DoutT>
void LayerNormBackwardRows(DxT* pdx, double* partials, int threads, const DoutT* pd,
                           const float* px, const float* pg, const float* pm, const float* pr,
                           int64_t N, int64_t C) {
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    double* acc_gamma = partials + static_cast<int64_t>(t) * 2 * C;
    double* acc_beta = acc_gamma + C;
    const int64_t begin = N * t / nt, end = N * (t + 1) / nt;
    for (int64_t n = begin; n < end; ++n) {
      const float* xr = px + n * C;
      const DoutT* dr = pd + n * C;
      DxT* dxr = pdx + n * C;
      const float m = pm[n], r = pr[n];
      // dx = r · (g - mean(g) - xhat · mean(g · xhat)), g = dout ⊙ gamma
      double sum_g = 0, sum_gx = 0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
      for (int64_t c = 0; c < C; ++c) {
        const float xhat = (xr[c] - m) * r;
        const float d = LoadAsFloat(dr, c);
        const float g = d * pg[c];
        sum_g += g;
        sum_gx += g * xhat;
        acc_gamma[c] += d * xhat;
        acc_beta[c] += d;
      }
      const float a = static_cast<float>(sum_g / C);
      const float b = static_cast<float>(sum_gx / C);
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const float xhat = (xr[c] - m) * r;
        const float v = r * (LoadAsFloat(dr, c) * pg[c] - a - xhat * b);
        StoreFromFloat(dxr, c, kAccumulate ? LoadAsFloat(dxr, c) + v : v);
      }
    }
  }
}

}  // namespace

void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps) {
  // Shapes checked by the public entry point (ops/layernorm.cc).
  const int64_t C = gamma.dim(0), N = RowCount(x, C);
  VisitFloatDType(out.dtype(), "layernorm", "out", [&](auto out_type) {
    using OutT = decltype(out_type);
    LayerNormForwardRows(ElementsOf<OutT>(out), mean.f32(), rstd.f32(), x.f32(), gamma.f32(),
                         beta.f32(), N, C, eps);
  });
}

void LayerNormBackward(const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta,
                       const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, bool accumulate_dx) {
  const int64_t C = gamma.dim(0), N = RowCount(x, C);  // checked on entry
  if (N == 0 || C == 0) return;
  // Each thread sums dgamma/dbeta over its own rows into partial[t] = [dgamma C | dbeta C], in
  // the same pass that writes dx; the partials are added up afterwards.
  const int threads = N * C > kParallelElements ? omp_get_max_threads() : 1;
  static thread_local std::vector<double> partial;
  partial.assign(static_cast<size_t>(threads) * 2 * C, 0.0);
  double* partials = partial.data();
  VisitFloatDType(dx.dtype(), "layernorm", "dx", [&](auto dx_type) {
    VisitFloatDType(dout.dtype(), "layernorm", "dout", [&](auto dout_type) {
      auto* pdx = ElementsOf<decltype(dx_type)>(dx);
      const auto* pd = ElementsOf<decltype(dout_type)>(dout);
      if (accumulate_dx) {
        LayerNormBackwardRows<true>(pdx, partials, threads, pd, x.f32(), gamma.f32(), mean.f32(),
                                    rstd.f32(), N, C);
      } else {
        LayerNormBackwardRows<false>(pdx, partials, threads, pd, x.f32(), gamma.f32(), mean.f32(),
                                     rstd.f32(), N, C);
      }
    });
  });
  float* pdg = dgamma.f32();
  float* pdb = dbeta.f32();
  for (int64_t c = 0; c < C; ++c) {
    double g = 0, b = 0;
    for (int t = 0; t < threads; ++t) {
      g += partials[static_cast<int64_t>(t) * 2 * C + c];
      b += partials[static_cast<int64_t>(t) * 2 * C + C + c];
    }
    pdg[c] += static_cast<float>(g);
    pdb[c] += static_cast<float>(b);
  }
}

}  // namespace tigerfg::ops::cpu

namespace tigerfg::ops::cpu {

// LayerNormBackward, then the bf16 copy as the Cast op makes it: the CUDA warp path's twin.
void LayerNormBackwardWithCopy(const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma,
                               Tensor dbeta, const Tensor& dout, const Tensor& x,
                               const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                               bool accumulate_dx) {
  LayerNormBackward(ctx, dx, dgamma, dbeta, dout, x, gamma, mean, rstd, accumulate_dx);
  Cast(ctx, dx16, dx);
}

}  // namespace tigerfg::ops::cpu
