// ops/gelu.h — GELU, tanh approximation (F.gelu(approximate="tanh")).
#pragma once
#include "runtime/context.h"
#include "runtime/tensor.h"

namespace tigerfg::ops {

// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise, any shape.
void GeluForward(const Context& ctx, Tensor out, const Tensor& x);

// dx = dout · gelu'(x), written (=). dx may alias dout.
void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x);

}  // namespace tigerfg::ops
