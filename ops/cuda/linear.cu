// ops/cuda/linear.cu — nn.Linear on CUDA: cuBLASLt GEMMs (bias fused in the forward epilogue),
// the bias gradient as deterministic column sums.
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace tigerfg::ops::cuda {

namespace {

struct ReadMatrix {
  const float* m;
  int64_t cols;
  __device__ double operator()(int64_t r, int64_t c) const { return m[r * cols + c]; }
};

}  // namespace

void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  CHECK_EQ(w.ndim(), 2) << "linear: weight must be [O, I], got " << w.shape().ToString();
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = RowsOf(x, I, "linear", "x");
  CHECK_EQ(RowsOf(out, O, "linear", "out"), N)
      << "linear: out " << out.shape().ToString() << " for x " << x.shape().ToString();
  if (bias.defined()) {
    CHECK(bias.ndim() == 1 && bias.dim(0) == O)
        << "linear: bias " << bias.shape().ToString() << " for " << O << " outputs";
  }
  GemmArgs g;
  g.M = N;
  g.N = O;
  g.K = I;
  g.A = x.f32();
  g.lda = I;
  g.B = w.f32();
  g.ldb = I;
  g.trans_b = true;
  g.C = out.f32();
  g.ldc = O;
  g.bias = bias.defined() ? bias.f32() : nullptr;
  Gemm(ctx, g);
}

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  CHECK_EQ(dw.ndim(), 2) << "linear: dw must be [O, I], got " << dw.shape().ToString();
  const int64_t O = dw.dim(0), I = dw.dim(1);
  const int64_t N = RowsOf(x, I, "linear", "x");
  CHECK_EQ(RowsOf(dout, O, "linear", "dout"), N)
      << "linear: dout " << dout.shape().ToString() << " for x " << x.shape().ToString();
  if (dx.defined()) {
    CHECK(w.shape() == dw.shape())
        << "linear: w " << w.shape().ToString() << " vs dw " << dw.shape().ToString();
    CHECK(dx.shape() == x.shape())
        << "linear: dx " << dx.shape().ToString() << " vs x " << x.shape().ToString();
    // dx[N, I] = dout[N, O] · w[O, I]
    GemmArgs g;
    g.M = N;
    g.N = I;
    g.K = O;
    g.A = dout.f32();
    g.lda = O;
    g.B = w.f32();
    g.ldb = I;
    g.C = dx.f32();
    g.ldc = I;
    Gemm(ctx, g);
  }
  {
    // dw[O, I] += dout^T[O, N] · x[N, I]
    GemmArgs g;
    g.trans_a = true;
    g.M = O;
    g.N = I;
    g.K = N;
    g.A = dout.f32();
    g.lda = O;
    g.B = x.f32();
    g.ldb = I;
    g.beta = 1.0f;
    g.C = dw.f32();
    g.ldc = I;
    Gemm(ctx, g);
  }
  if (dbias.defined()) {
    CHECK(dbias.ndim() == 1 && dbias.dim(0) == O)
        << "linear: dbias " << dbias.shape().ToString() << " for " << O << " outputs";
    AccumulateColumnSums(ctx, ReadMatrix{dout.f32(), O}, N, O, dbias.f32());
  }
}

}  // namespace tigerfg::ops::cuda
