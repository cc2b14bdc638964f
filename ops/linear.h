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

}  // namespace tigerfg::ops
