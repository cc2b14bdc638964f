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

void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  TIGERFG_CUDA_DISPATCH(LinearForward(ctx, out, x, w, bias));
  if (IsBF16(out) || IsBF16(x) || IsBF16(w)) {
    const StagedF32 o(out, /*read=*/false), xs(x), ws(w);
    LinearForward(ctx, o.get(), xs.get(), ws.get(), bias);
    o.WriteBack();
    return;
  }
  CHECK_EQ(w.ndim(), 2) << "linear: weight must be [O, I], got " << w.shape().ToString();
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = Rows(x, I);
  CHECK_EQ(Rows(out, O), N) << "linear: out " << out.shape().ToString() << " for x "
                            << x.shape().ToString() << " and w " << w.shape().ToString();
  float* y = out.f32();
  const float* px = x.f32();
  const float* pw = w.f32();
  if (N == 0 || O == 0) return;
  float beta = 0.0f;
  if (bias.defined()) {
    CHECK(bias.ndim() == 1 && bias.dim(0) == O)
        << "linear: bias " << bias.shape().ToString() << " for " << O << " outputs";
    const float* b = bias.f32();
    // Seed out with the bias so the GEMM adds onto it (beta = 1): one pass over out, not two.
#pragma omp parallel for if (N * O > (1 << 15))
    for (int64_t n = 0; n < N; ++n) std::copy(b, b + O, y + n * O);
    beta = 1.0f;
  }
  if (I == 0) {
    if (!bias.defined()) std::fill(y, y + N * O, 0.0f);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, I, 1.0f, px, I, pw, I, beta, y, O);
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
  CHECK_EQ(w.ndim(), 2) << "linear: weight must be [O, I], got " << w.shape().ToString();
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = Rows(x, I);
  CHECK_EQ(Rows(out, O), N) << "linear: out " << out.shape().ToString() << " for x "
                            << x.shape().ToString() << " and w " << w.shape().ToString();
  float* y = out.f32();
  const float* r = residual.f32();
  const float* b = nullptr;
  if (bias.defined()) {
    CHECK(bias.ndim() == 1 && bias.dim(0) == O)
        << "linear: bias " << bias.shape().ToString() << " for " << O << " outputs";
    b = bias.f32();
  }
  if (N == 0 || O == 0) return;
    // Seed out with residual + bias, then accumulate the product onto it (beta = 1).
#pragma omp parallel for if (N * O > (1 << 15))
  for (int64_t n = 0; n < N; ++n) {
    float* yr = y + n * O;
    const float* rr = r + n * O;
    if (b == nullptr) {
      if (yr != rr) std::copy(rr, rr + O, yr);
    } else {
#pragma omp simd
      for (int64_t o = 0; o < O; ++o) yr[o] = rr[o] + b[o];
    }
  }
  if (I == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, I, 1.0f, x.f32(), I, w.f32(), I, 1.0f,
              y, O);
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
