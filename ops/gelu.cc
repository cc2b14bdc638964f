// ops/gelu.cc — the public GELU ops: sizes checked once, then the device's backend.
#include "ops/gelu.h"

#include "ops/backend.h"

namespace tigerfg::ops {

void GeluForward(const Context& ctx, Tensor out, const Tensor& x) {
  CHECK_EQ(out.numel(), x.numel())
      << "gelu: out " << out.shape().ToString() << " vs x " << x.shape().ToString();
  BackendForOp(ctx, OpKind::kGeluForward).gelu_forward(ctx, out, x);
}

void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x) {
  CHECK(dx.numel() == x.numel() && dout.numel() == x.numel())
      << "gelu: dx " << dx.shape().ToString() << " / dout " << dout.shape().ToString() << " vs x "
      << x.shape().ToString();
  CHECK(dx.data() != dout.data() || dx.dtype() == dout.dtype())
      << "gelu: dx aliases dout with another dtype (" << DTypeName(dx.dtype()) << " vs "
      << DTypeName(dout.dtype()) << ")";
  BackendForOp(ctx, OpKind::kGeluBackward).gelu_backward(ctx, dx, dout, x);
}

}  // namespace tigerfg::ops
