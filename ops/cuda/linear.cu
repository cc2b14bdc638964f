// ops/cuda/linear.cu — nn.Linear on CUDA: cuBLASLt GEMMs over fp32 or bf16 activations (bias
// fused in the forward epilogue), the bias gradient as deterministic column sums or, for bf16
// activations, cuBLASLt's BGRADB epilogue; the MLP's fused Linear+GELU pair (GELU_AUX_BIAS
// forward, DGELU_BGRAD backward) with the separate passes as the fallback.
#include <cuda_bf16.h>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"
#include "ops/cuda/paths.h"

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
  GemmArgs g = RowMajorGemm(N, O, I, x.data(), I, w.data(), I, out.data(), O);
  g.trans_b = true;
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

namespace {

// dx[N, I] = dout[N, O] · w[O, I]
GemmArgs DxGemm(Tensor dx, const Tensor& dout, const Tensor& w, int64_t N, int64_t O, int64_t I) {
  CheckSameType(dout, "dout", w, "w");
  CheckFloat(dx, "dx");
  GemmArgs g = RowMajorGemm(N, I, O, dout.data(), O, w.data(), I, dx.data(), I);
  g.ab_type = dout.dtype();
  g.c_type = dx.dtype();
  return g;
}

// dst[c] += Σ_n m[n, c] over m[N, C] (F32 or BF16), deterministic column sums in double.
void AddColumnSums(const Context& ctx, const Tensor& m, int64_t N, int64_t C, float* dst) {
  if (m.dtype() == DType::kBF16) {
    const auto* p = static_cast<const __nv_bfloat16*>(m.data());
    AccumulateColumnSums(ctx, ReadMatrix<__nv_bfloat16>{p, C}, N, C, dst);
  } else {
    AccumulateColumnSums(ctx, ReadMatrix<float>{m.f32(), C}, N, C, dst);
  }
}

// dw[O, I] += dout^T[O, N] · x[N, I] and dbias[O] += Σ_n dout[n, O] (dbias may be empty). For
// bf16 activations the bias gradient rides on the GEMM (BGRADB into a scratch vector, then
// added); F32 ones, and any problem cuBLASLt declines, take the column-sum kernels.
void WeightGradients(const Context& ctx, Tensor dw, Tensor dbias, const Tensor& dout,
                     const Tensor& x, int64_t N, int64_t O, int64_t I) {
  CheckSameType(dout, "dout", x, "x");
  CHECK(dw.dtype() == DType::kF32) << "linear: dw is " << DTypeName(dw.dtype()) << ", not F32";
  GemmArgs g = RowMajorGemm(O, I, N, dout.data(), O, x.data(), I, dw.f32(), I);
  g.trans_a = true;
  g.beta = 1.0f;
  g.ab_type = dout.dtype();
  if (dbias.defined() && dout.dtype() == DType::kBF16) {
    Scratch sums(ctx, static_cast<size_t>(O) * sizeof(float));
    EpilogueArgs e;
    e.kind = GemmEpilogue::kBgradA;
    e.bias_grad = sums.f32();
    if (TryGemmEpilogue(ctx, g, e)) {
      AddF32(ctx, dbias.f32(), sums.f32(), O);
      return;
    }
  }
  Gemm(ctx, g);
  if (dbias.defined()) AddColumnSums(ctx, dout, N, O, dbias.f32());
}

}  // namespace

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  const int64_t O = dw.dim(0), I = dw.dim(1);  // shapes checked by ops/linear.cc
  const int64_t N = RowCount(x, I);
  if (dx.defined()) Gemm(ctx, DxGemm(dx, dout, w, N, O, I));
  WeightGradients(ctx, dw, dbias, dout, x, N, O, I);
}

void LinearBiasGeluForward(const Context& ctx, Tensor out, Tensor pre, const Tensor& x,
                           const Tensor& w, const Tensor& bias) {
  const int64_t O = w.dim(0);  // shapes checked by ops/linear.cc
  CHECK(out.dtype() == pre.dtype())
      << "linear: out is " << DTypeName(out.dtype()) << " but pre is " << DTypeName(pre.dtype());
  const GemmArgs g = ForwardGemm(pre, x, w, bias);
  GemmArgs fused = g;
  fused.C = out.data();
  EpilogueArgs e;
  e.kind = GemmEpilogue::kGeluAuxBias;
  e.aux = pre.data();
  e.ldaux = O;
  e.aux_type = pre.dtype();
  if (TryGemmEpilogue(ctx, fused, e)) return;
  Gemm(ctx, g);
  GeluForward(ctx, out, pre);
}

void LinearBackwardGelu(const Context& ctx, Tensor dpre, Tensor dw, Tensor dbias, Tensor dpre_bias,
                        const Tensor& dout, const Tensor& x, const Tensor& w, const Tensor& pre) {
  const int64_t O = dw.dim(0), I = dw.dim(1);  // shapes checked by ops/linear.cc
  const int64_t N = RowCount(x, I);
  CHECK(pre.dtype() == dpre.dtype())
      << "linear: pre is " << DTypeName(pre.dtype()) << " but dpre is " << DTypeName(dpre.dtype());
  const GemmArgs g = DxGemm(dpre, dout, w, N, O, I);
  bool fused = false;
  if (dpre_bias.defined()) {
    Scratch sums(ctx, static_cast<size_t>(I) * sizeof(float));
    EpilogueArgs e;
    e.kind = GemmEpilogue::kDGeluBgrad;
    e.aux = const_cast<void*>(pre.data());
    e.ldaux = I;
    e.aux_type = pre.dtype();
    e.bias_grad = sums.f32();
    fused = TryGemmEpilogue(ctx, g, e);
    if (fused) AddF32(ctx, dpre_bias.f32(), sums.f32(), I);
  }
  if (!fused) {
    Gemm(ctx, g);
    GeluBackward(ctx, dpre, dpre, pre);
    if (dpre_bias.defined()) AddColumnSums(ctx, dpre, N, I, dpre_bias.f32());
  }
  WeightGradients(ctx, dw, dbias, dout, x, N, O, I);
}

}  // namespace tigerfg::ops::cuda
