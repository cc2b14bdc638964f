// ops/normalize.cc — the public L2-normalisation ops: shapes checked once, then the device's
// backend.
#include "ops/normalize.h"

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {

void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x) {
  CHECK_GE(x.ndim(), 1) << "l2normalize: scalar x";
  CHECK(out.shape() == x.shape()) << "l2normalize: out " << out.shape().ToString() << " vs x "
                                  << x.shape().ToString();
  const int64_t N = CheckRows(x, x.dim(-1), "l2normalize", "x");
  CHECK_EQ(norm.numel(), N) << "l2normalize: norm " << norm.shape().ToString() << " for " << N
                            << " rows";
  BackendForOp(ctx, OpKind::kL2NormalizeForward).l2_normalize_forward(ctx, out, norm, x);
}

void L2NormalizeBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out,
                         const Tensor& norm) {
  CHECK_GE(out.ndim(), 1) << "l2normalize: scalar out";
  CHECK(dx.shape() == out.shape() && dout.shape() == out.shape())
      << "l2normalize: dx " << dx.shape().ToString() << " / dout " << dout.shape().ToString()
      << " vs out " << out.shape().ToString();
  const int64_t N = CheckRows(out, out.dim(-1), "l2normalize", "out");
  CHECK_EQ(norm.numel(), N) << "l2normalize: norm " << norm.shape().ToString() << " for " << N
                            << " rows";
  BackendForOp(ctx, OpKind::kL2NormalizeBackward).l2_normalize_backward(ctx, dx, dout, out, norm);
}

}  // namespace tigerfg::ops
