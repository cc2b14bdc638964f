// ops/normalize.h — L2 normalisation of rows (F.normalize, eps 1e-12).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// out[N, D] = x / max(||x||, 1e-12) for each row; norm[N] = ||x|| is saved.
void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x);

// dx[N, D] is written (=).
void L2NormalizeBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out,
                         const Tensor& norm);

}  // namespace tigerfg::ops
