// ops/gelu.h — GELU, tanh approximation (F.gelu(approximate="tanh")).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// Precision: out, x, dout and dx may each be F32 or BF16 (read as the floats they encode,
// computed in fp32, written rounded to nearest even). An aliased dx and dout have the same dtype.

// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise, any shape.
void GeluForward(const Context& ctx, Tensor out, const Tensor& x);

// dx = dout · gelu'(x), written (=). dx may alias dout.
void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x);

}  // namespace tigerfg::ops
