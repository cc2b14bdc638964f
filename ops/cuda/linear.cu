// ops/cuda/linear.cu — nn.Linear on CUDA: cuBLASLt GEMMs over fp32 or bf16 activations (bias
// fused in the forward epilogue), the bias gradient as deterministic column sums.
#include <cuda_bf16.h>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {

namespace {

template <typename T>
struct ReadMatrix {
  const T* m;
  int64_t cols;
  __device__ double operator()(int64_t r, int64_t c) const {
    return static_cast<double>(static_cast<float>(m[r * cols + c]));
  }
};

void CheckFloat(const Tensor& t, const char* name) {
  CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kBF16)
      << "linear: " << name << " is " << DTypeName(t.dtype()) << ", expected F32 or BF16";
}

void CheckSameType(const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) {
  CheckFloat(a, a_name);
  CHECK(a.dtype() == b.dtype()) << "linear: " << a_name << " is " << DTypeName(a.dtype()) << " but "
                                << b_name << " is " << DTypeName(b.dtype())
                                << "; a GEMM's inputs share one type";
}

}  // namespace

namespace {

// The forward GEMM out[N, O] = x[N, I] · w[O, I]^T + bias; shapes checked by ops/linear.cc, the
// GEMM's types here.
GemmArgs ForwardGemm(Tensor out, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = RowCount(x, I);
  CheckSameType(x, "x", w, "w");
  CheckFloat(out, "out");
  GemmArgs g;
  g.M = N;
  g.N = O;
  g.K = I;
  g.A = x.data();
  g.lda = I;
  g.B = w.data();
  g.ldb = I;
  g.trans_b = true;
  g.C = out.data();
  g.ldc = O;
  g.bias = bias.defined() ? bias.f32() : nullptr;
  g.ab_type = x.dtype();
  g.c_type = out.dtype();
  return g;
}

}  // namespace

void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  Gemm(ctx, ForwardGemm(out, x, w, bias));
}

void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual) {
  CHECK(out.dtype() == DType::kF32 && residual.dtype() == DType::kF32)
      << "linear: out and residual must be F32 of one shape, got " << DTypeName(out.dtype()) << " "
      << out.shape().ToString() << " and " << DTypeName(residual.dtype()) << " "
      << residual.shape().ToString();
  GemmArgs g = ForwardGemm(out, x, w, bias);
  g.beta = 1.0f;
  g.C_in = residual.data();
  Gemm(ctx, g);
}

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  const int64_t O = dw.dim(0), I = dw.dim(1);  // shapes checked by ops/linear.cc
  const int64_t N = RowCount(x, I);
  CheckSameType(dout, "dout", x, "x");
  CHECK(dw.dtype() == DType::kF32) << "linear: dw is " << DTypeName(dw.dtype()) << ", not F32";
  if (dx.defined()) {
    CheckSameType(dout, "dout", w, "w");
    CheckFloat(dx, "dx");
    // dx[N, I] = dout[N, O] · w[O, I]
    GemmArgs g;
    g.M = N;
    g.N = I;
    g.K = O;
    g.A = dout.data();
    g.lda = O;
    g.B = w.data();
    g.ldb = I;
    g.C = dx.data();
    g.ldc = I;
    g.ab_type = dout.dtype();
    g.c_type = dx.dtype();
    Gemm(ctx, g);
  }
  {
    // dw[O, I] += dout^T[O, N] · x[N, I]
    GemmArgs g;
    g.trans_a = true;
    g.M = O;
    g.N = I;
    g.K = N;
    g.A = dout.data();
    g.lda = O;
    g.B = x.data();
    g.ldb = I;
    g.beta = 1.0f;
    g.C = dw.f32();
    g.ldc = I;
    g.ab_type = dout.dtype();
    Gemm(ctx, g);
  }
  if (dbias.defined()) {
    if (dout.dtype() == DType::kBF16) {
      const auto* pd = static_cast<const __nv_bfloat16*>(dout.data());
      AccumulateColumnSums(ctx, ReadMatrix<__nv_bfloat16>{pd, O}, N, O, dbias.f32());
    } else {
      AccumulateColumnSums(ctx, ReadMatrix<float>{dout.f32(), O}, N, O, dbias.f32());
    }
  }
}

}  // namespace tigerfg::ops::cuda
