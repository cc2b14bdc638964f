// ops/softmax.cc — the public softmax and log-softmax ops: shapes checked once, then the device's
// backend.
#include "ops/softmax.h"

#include "ops/backend.h"

namespace tigerfg::ops {
namespace {

// a and b are [..., C] of one shape.
void CheckSameRows(const Tensor& a, const Tensor& b, const char* what) {
  CHECK(a.ndim() >= 1 && a.shape() == b.shape())
      << what << ": shapes " << a.shape().ToString() << " and " << b.shape().ToString();
}

}  // namespace

void SoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  CheckSameRows(out, x, "softmax");
  BackendForOp(ctx, OpKind::kSoftmaxForward).softmax_forward(ctx, out, x);
}

void SoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  CheckSameRows(dout, out, "softmax backward");
  CHECK(dx.shape() == out.shape()) << "softmax backward: dx " << dx.shape().ToString();
  BackendForOp(ctx, OpKind::kSoftmaxBackward).softmax_backward(ctx, dx, dout, out);
}

void LogSoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  CheckSameRows(out, x, "log_softmax");
  BackendForOp(ctx, OpKind::kLogSoftmaxForward).log_softmax_forward(ctx, out, x);
}

void LogSoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  CheckSameRows(dout, out, "log_softmax backward");
  CHECK(dx.shape() == out.shape()) << "log_softmax backward: dx " << dx.shape().ToString();
  BackendForOp(ctx, OpKind::kLogSoftmaxBackward).log_softmax_backward(ctx, dx, dout, out);
}

}  // namespace tigerfg::ops
