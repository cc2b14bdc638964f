// ops/softmax.h — softmax and log-softmax over the last dimension, in fp32.
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// out[N, C] = softmax(x) per row.
void SoftmaxForward(const Context& ctx, Tensor out, const Tensor& x);
// dx = out ⊙ (dout - Σ dout ⊙ out), written (=).
void SoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out);

// out[N, C] = x - logsumexp(x) per row.
void LogSoftmaxForward(const Context& ctx, Tensor out, const Tensor& x);
// dx = dout - exp(out) Σ dout, written (=).
void LogSoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out);

}  // namespace tigerfg::ops
