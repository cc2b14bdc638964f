// ops/linear.h — fully connected layer: y = x W^T + b (nn.Linear's layout, W is [out, in]).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// Precision: x, w and dout are F32 or BF16 (on CUDA all three the same type, the GEMM's input
// type), out and dx F32 or BF16 (the GEMM's output type); bias, dw and dbias are F32 (master
// parameters and their gradients). Products accumulate in fp32.

// out[N, O] = x[N, I] · w[O, I]^T + bias[O]; bias may be empty.
void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias);

// out[N, O] = residual[N, O] + x[N, I] · w[O, I]^T + bias[O]: a residual stream's update in one
// pass over out (the GEMM's beta = 1 term). out and residual are F32 and may be the same tensor;
// x, w, bias as in LinearForward.
void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual);

// dx[N, I] is written (=) unless empty; dw[O, I] and dbias[O] accumulate (+=); dbias may be empty.
// w is read only for dx, so it may be empty when dx is. x and dout may have leading dims [..., I].
void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w);

// The MLP's fc1 + GELU and fc2 + GELU-backward pairs as one op each (on CUDA cuBLASLt's
// GELU_AUX_BIAS and DGELU_BGRAD epilogues where it takes them, the separate passes otherwise; the
// CPU runs the separate ops, so its results equal LinearForward + GeluForward and LinearBackward
// + GeluBackward + the column sums bit for bit). Whether a device runs them at a dtype:
// FusedMlpSupported; the model uses the unfused ops where it does not.

// pre[N, O] = x[N, I] · w[O, I]^T + bias[O] (the GELU's input, saved for the backward) and
// out[N, O] = gelu(pre) (ops/gelu.h, tanh form). bias is required; out and pre share one dtype.
void LinearBiasGeluForward(const Context& ctx, Tensor out, Tensor pre, const Tensor& x,
                           const Tensor& w, const Tensor& bias);

// The backward of out = x · w^T + bias with x = gelu(pre): dpre[N, I] = (dout[N, O] · w[O, I]) ⊙
// gelu'(pre) is written (=); dw[O, I], dbias[O] and dpre_bias[I] accumulate (+=), dpre_bias with
// Σ_n dpre (the bias gradient of the layer that produced pre). dbias and dpre_bias may be empty;
// pre and dpre share one dtype. On CUDA with the epilogue, dpre_bias sums dpre before its
// rounding to bf16 (the sum itself rounded to bf16 once where cuBLASLt takes only a bf16 bias
// gradient with a bf16 dpre).
void LinearBackwardGelu(const Context& ctx, Tensor dpre, Tensor dw, Tensor dbias, Tensor dpre_bias,
                        const Tensor& dout, const Tensor& x, const Tensor& w, const Tensor& pre);

// Whether ctx's backend runs both fused MLP ops with `activations` (F32 or BF16).
bool FusedMlpSupported(const Context& ctx, DType activations);

}  // namespace tigerfg::ops
