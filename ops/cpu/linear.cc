// ops/cpu/linear.cc — nn.Linear on the CPU backend: OpenBLAS SGEMM for the products, OpenMP for the
// bias.
#include "ops/linear.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/cpu/staging.h"

namespace tigerfg::ops::cpu {
namespace {

// dbias[O] += Σ_n dout[n, O]. Rows are split across threads, each summing its share in double
// (N reaches ~10^5 rows), then the partial sums are added up serially.
void AccumulateColumnSums(float* dbias, const float* dout, int64_t rows, int64_t cols) {
  const int threads = rows * cols > (1 << 16) ? omp_get_max_threads() : 1;
  static thread_local std::vector<double> partial;
  partial.assign(static_cast<size_t>(threads) * cols, 0.0);
  double* sums = partial.data();
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    double* acc = sums + static_cast<int64_t>(t) * cols;
    const int64_t begin = rows * t / nt, end = rows * (t + 1) / nt;
    for (int64_t n = begin; n < end; ++n) {
      const float* row = dout + n * cols;
#pragma omp simd
      for (int64_t o = 0; o < cols; ++o) acc[o] += row[o];
    }
  }
  for (int64_t o = 0; o < cols; ++o) {
    double s = 0;
    for (int t = 0; t < threads; ++t) s += sums[static_cast<int64_t>(t) * cols + o];
    dbias[o] += static_cast<float>(s);
  }
}

}  // namespace

namespace {

struct ForwardDims {
  int64_t N, O, I;
};

// Shapes checked by the public entry point (ops/linear.cc).
ForwardDims DimsOf(const Tensor& x, const Tensor& w) {
  const int64_t O = w.dim(0), I = w.dim(1);
  return {RowCount(x, I), O, I};
}

// y[N, O] = residual + bias + x · w^T, residual and bias optional (y may be residual): the rows
// are seeded with what is added, then one SGEMM accumulates onto them (beta = 1): one pass over y.
void ForwardRows(float* y, const float* x, const float* w, const float* bias, const float* residual,
                 const ForwardDims& d) {
  const auto [N, O, I] = d;
  if (N == 0 || O == 0) return;
  const bool seeded = bias != nullptr || residual != nullptr;
  if (seeded) {
#pragma omp parallel for if (N * O > (1 << 15))
    for (int64_t n = 0; n < N; ++n) {
      float* yr = y + n * O;
      const float* rr = residual == nullptr ? nullptr : residual + n * O;
      if (rr == nullptr) {
        std::copy(bias, bias + O, yr);
      } else if (bias == nullptr) {
        if (yr != rr) std::copy(rr, rr + O, yr);
      } else {
#pragma omp simd
        for (int64_t o = 0; o < O; ++o) yr[o] = rr[o] + bias[o];
      }
    }
  }
  if (I == 0) {
    if (!seeded) std::fill(y, y + N * O, 0.0f);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, I, 1.0f, x, I, w, I,
              seeded ? 1.0f : 0.0f, y, O);
}

}  // namespace

void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  if (IsBF16(out) || IsBF16(x) || IsBF16(w)) {
    const StagedF32 o(out, /*read=*/false), xs(x), ws(w);
    LinearForward(ctx, o.get(), xs.get(), ws.get(), bias);
    o.WriteBack();
    return;
  }
  ForwardRows(out.f32(), x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, nullptr,
              DimsOf(x, w));
}

void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual) {
  if (IsBF16(x) || IsBF16(w)) {
    const StagedF32 xs(x), ws(w);
    LinearForwardAdd(ctx, out, xs.get(), ws.get(), bias, residual);
    return;
  }
  ForwardRows(out.f32(), x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, residual.f32(),
              DimsOf(x, w));
}

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  if (IsBF16(dx) || IsBF16(dout) || IsBF16(x) || IsBF16(w)) {
    const StagedF32 d(dx, /*read=*/false), ds(dout), xs(x), ws(w);
    LinearBackward(ctx, d.get(), dw, dbias, ds.get(), xs.get(), ws.get());
    d.WriteBack();
    return;
  }
  const int64_t O = dw.dim(0), I = dw.dim(1);
  const int64_t N = RowCount(x, I);
  const float* pd = dout.f32();
  const float* px = x.f32();
  if (dx.defined()) {
    float* pdx = dx.f32();
    if (O == 0) {
      std::fill(pdx, pdx + N * I, 0.0f);
    } else if (N > 0 && I > 0) {
      // dx[N, I] = dout[N, O] · w[O, I]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, I, O, 1.0f, pd, O, w.f32(), I, 0.0f,
                  pdx, I);
    }
  }
  if (N > 0 && O > 0 && I > 0) {
    // dw[O, I] += dout^T[O, N] · x[N, I]
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, I, N, 1.0f, pd, O, px, I, 1.0f,
                dw.f32(), I);
  }
  if (dbias.defined() && N > 0 && O > 0) AccumulateColumnSums(dbias.f32(), pd, N, O);
}

}  // namespace tigerfg::ops::cpu

namespace tigerfg::ops::cpu {

// The fused MLP ops as the separate CPU ops, in the order the unfused model runs them, so that
// every output is bit-identical to theirs.
void LinearBiasGeluForward(const Context& ctx, Tensor out, Tensor pre, const Tensor& x,
                           const Tensor& w, const Tensor& bias) {
  LinearForward(ctx, pre, x, w, bias);
  GeluForward(ctx, out, pre);
}

void LinearBackwardGelu(const Context& ctx, Tensor dpre, Tensor dw, Tensor dbias, Tensor dpre_bias,
                        const Tensor& dout, const Tensor& x, const Tensor& w, const Tensor& pre) {
  LinearBackward(ctx, dpre, dw, dbias, dout, x, w);
  GeluBackward(ctx, dpre, dpre, pre);
  // What LinearBackward of the layer that produced pre adds to its dbias from dout = dpre.
  const int64_t I = dw.dim(1), N = RowCount(x, I);
  if (dpre_bias.defined() && N > 0 && I > 0) {
    const StagedF32 ds(dpre);
    AccumulateColumnSums(dpre_bias.f32(), ds.get().f32(), N, I);
  }
}

}  // namespace tigerfg::ops::cpu
