// ops/layernorm.h — LayerNorm over the last dimension (eps from the model, 1e-6).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// Precision: x, gamma, beta, mean, rstd, dgamma and dbeta are F32 (the residual stream and the
// statistics stay fp32); out, dout and dx may each be F32 or BF16 (bf16 activations: read as the
// floats they encode, computed in fp32, written rounded to nearest even).

// out[N, C] = (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as PyTorch).
// Saves mean[N] and rstd[N] for the backward pass. x may be any shape [..., C].
void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps);

// dx[N, C] is written (=), or added to (+=) with accumulate_dx (a residual stream's gradient
// takes the branch's without another pass); dgamma[C] and dbeta[C] accumulate (+=).
void LayerNormBackward(const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta,
                       const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, bool accumulate_dx = false);

// LayerNormBackward, and dx16 (BF16, dx's shape) = dx as it ends, rounded to bf16: the copy the
// next bf16 GEMM reads (the residual stream's gradient), written in the same pass on CUDA's
// warp path (bf16 dout, C <= 1024); elsewhere, and on the CPU, LayerNormBackward then Cast, bit
// for bit.
void LayerNormBackwardWithCopy(const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma,
                               Tensor dbeta, const Tensor& dout, const Tensor& x,
                               const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                               bool accumulate_dx);

}  // namespace tigerfg::ops
