// ops/optim.h — optimizer kernels over ranges of the flat parameter/gradient/state buffers.
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

struct AdamWHyper {
  float lr = 0;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0;  // decoupled: p -= lr·wd·p before the Adam update (torch.optim.AdamW)
  int64_t step = 1;        // 1-based, for bias correction
  float grad_scale = 1;    // multiplies the gradient first (global-norm clipping)
};

// One AdamW update of params, m, v [n] from grads [n] (all F32, same length).
void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& hyper);

// Σ x² in double (for the global gradient norm).
double SumOfSquares(const Context& ctx, const Tensor& x);

}  // namespace tigerfg::ops
