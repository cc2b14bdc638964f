// ops/optim.cc — the public optimizer ops: sizes checked once, then the device's backend.
#include "ops/optim.h"

#include "ops/backend.h"

namespace tigerfg::ops {

void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& hyper) {
  const int64_t n = params.numel();
  CHECK(m.numel() == n && v.numel() == n && grads.numel() == n) << "AdamWUpdate: sizes differ";
  BackendForOp(ctx, OpKind::kAdamWUpdate).adamw_update(ctx, params, m, v, grads, hyper);
}

double SumOfSquares(const Context& ctx, const Tensor& x) {
  return BackendForOp(ctx, OpKind::kSumOfSquares).sum_of_squares(ctx, x);
}

}  // namespace tigerfg::ops
