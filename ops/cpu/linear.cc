// ops/cpu/linear.cc — nn.Linear on the CPU: OpenBLAS SGEMM for the products, OpenMP for the bias.
#include "ops/linear.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "ops/cpu/staging.h"
#include "ops/dispatch.h"

namespace tigerfg::ops {
namespace {

// Rows of x[..., I] when the last dimension is the feature one.
int64_t Rows(const Tensor& t, int64_t features) {
  CHECK_GE(t.ndim(), 1) << "linear: scalar tensor";
  CHECK_EQ(t.dim(-1), features) << "linear: last dimension of " << t.shape().ToString();
  return t.numel() / std::max<int64_t>(features, 1);
}

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

ForwardDims CheckForward(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& bias) {
  CHECK_EQ(w.ndim(), 2) << "linear: weight must be [O, I], got " << w.shape().ToString();
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = Rows(x, I);
  CHECK_EQ(Rows(out, O), N) << "linear: out " << out.shape().ToString() << " for x "
                            << x.shape().ToString() << " and w " << w.shape().ToString();
  if (bias.defined()) {
    CHECK(bias.ndim() == 1 && bias.dim(0) == O)
        << "linear: bias " << bias.shape().ToString() << " for " << O << " outputs";
  }
  return {N, O, I};
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
  TIGERFG_CUDA_DISPATCH(LinearForward(ctx, out, x, w, bias));
  if (IsBF16(out) || IsBF16(x) || IsBF16(w)) {
    const StagedF32 o(out, /*read=*/false), xs(x), ws(w);
    LinearForward(ctx, o.get(), xs.get(), ws.get(), bias);
    o.WriteBack();
    return;
  }
  const ForwardDims d = CheckForward(out, x, w, bias);
  ForwardRows(out.f32(), x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, nullptr, d);
}

void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual) {
  TIGERFG_CUDA_DISPATCH(LinearForwardAdd(ctx, out, x, w, bias, residual));
  CHECK(residual.shape() == out.shape())
      << "linear: residual " << residual.shape().ToString() << " vs out " << out.shape().ToString();
  if (IsBF16(x) || IsBF16(w)) {
    const StagedF32 xs(x), ws(w);
    LinearForwardAdd(ctx, out, xs.get(), ws.get(), bias, residual);
    return;
  }
  const ForwardDims d = CheckForward(out, x, w, bias);
  ForwardRows(out.f32(), x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, residual.f32(),
              d);
}

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  TIGERFG_CUDA_DISPATCH(LinearBackward(ctx, dx, dw, dbias, dout, x, w));
  if (IsBF16(dx) || IsBF16(dout) || IsBF16(x) || IsBF16(w)) {
    const StagedF32 d(dx, /*read=*/false), ds(dout), xs(x), ws(w);
    LinearBackward(ctx, d.get(), dw, dbias, ds.get(), xs.get(), ws.get());
    d.WriteBack();
    return;
  }
  CHECK_EQ(dw.ndim(), 2) << "linear: dw must be [O, I], got " << dw.shape().ToString();
  const int64_t O = dw.dim(0), I = dw.dim(1);
  const int64_t N = Rows(x, I);
  CHECK_EQ(Rows(dout, O), N) << "linear: dout " << dout.shape().ToString() << " for x "
                             << x.shape().ToString();
  const float* pd = dout.f32();
  const float* px = x.f32();
  if (dx.defined()) {
    CHECK(w.shape() == dw.shape())
        << "linear: w " << w.shape().ToString() << " vs dw " << dw.shape().ToString();
    CHECK(dx.shape() == x.shape())
        << "linear: dx " << dx.shape().ToString() << " vs x " << x.shape().ToString();
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
  if (dbias.defined()) {
    CHECK(dbias.ndim() == 1 && dbias.dim(0) == O)
        << "linear: dbias " << dbias.shape().ToString() << " for " << O << " outputs";
    if (N > 0 && O > 0) AccumulateColumnSums(dbias.f32(), pd, N, O);
  }
}

}  // namespace tigerfg::ops
