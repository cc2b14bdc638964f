// ops/linear.cc — the public Linear ops: shapes checked once, then the device's backend.
#include "ops/linear.h"

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {
namespace {

void CheckForward(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& bias) {
  CHECK_EQ(w.ndim(), 2) << "linear: weight must be [O, I], got " << w.shape().ToString();
  const int64_t O = w.dim(0), I = w.dim(1);
  const int64_t N = CheckRows(x, I, "linear", "x");
  CHECK_EQ(CheckRows(out, O, "linear", "out"), N)
      << "linear: out " << out.shape().ToString() << " for x " << x.shape().ToString() << " and w "
      << w.shape().ToString();
  if (bias.defined()) {
    CHECK(bias.ndim() == 1 && bias.dim(0) == O)
        << "linear: bias " << bias.shape().ToString() << " for " << O << " outputs";
  }
}

void CheckBackward(const Tensor& dx, const Tensor& dw, const Tensor& dbias, const Tensor& dout,
                   const Tensor& x, const Tensor& w) {
  CHECK_EQ(dw.ndim(), 2) << "linear: dw must be [O, I], got " << dw.shape().ToString();
  const int64_t O = dw.dim(0), I = dw.dim(1);
  const int64_t N = CheckRows(x, I, "linear", "x");
  CHECK_EQ(CheckRows(dout, O, "linear", "dout"), N)
      << "linear: dout " << dout.shape().ToString() << " for x " << x.shape().ToString();
  if (dx.defined()) {
    CHECK(w.shape() == dw.shape())
        << "linear: w " << w.shape().ToString() << " vs dw " << dw.shape().ToString();
    CHECK(dx.shape() == x.shape())
        << "linear: dx " << dx.shape().ToString() << " vs x " << x.shape().ToString();
  }
  if (dbias.defined()) {
    CHECK(dbias.ndim() == 1 && dbias.dim(0) == O)
        << "linear: dbias " << dbias.shape().ToString() << " for " << O << " outputs";
  }
}

}  // namespace

void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias) {
  CheckForward(out, x, w, bias);
  BackendForOp(ctx, OpKind::kLinearForward).linear_forward(ctx, out, x, w, bias);
}

void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual) {
  CHECK(residual.shape() == out.shape())
      << "linear: residual " << residual.shape().ToString() << " vs out " << out.shape().ToString();
  CheckForward(out, x, w, bias);
  BackendForOp(ctx, OpKind::kLinearForwardAdd).linear_forward_add(ctx, out, x, w, bias, residual);
}

void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w) {
  CheckBackward(dx, dw, dbias, dout, x, w);
  BackendForOp(ctx, OpKind::kLinearBackward).linear_backward(ctx, dx, dw, dbias, dout, x, w);
}

void LinearBiasGeluForward(const Context& ctx, Tensor out, Tensor pre, const Tensor& x,
                           const Tensor& w, const Tensor& bias) {
  CHECK(bias.defined()) << "linear: LinearBiasGeluForward needs a bias";
  CHECK(out.shape() == pre.shape() && out.dtype() == pre.dtype())
      << "linear: out " << DTypeName(out.dtype()) << " " << out.shape().ToString() << " vs pre "
      << DTypeName(pre.dtype()) << " " << pre.shape().ToString();
  CheckForward(pre, x, w, bias);
  BackendForOp(ctx, OpKind::kLinearBiasGeluForward)
      .linear_bias_gelu_forward(ctx, out, pre, x, w, bias);
}

void LinearBackwardGelu(const Context& ctx, Tensor dpre, Tensor dw, Tensor dbias, Tensor dpre_bias,
                        const Tensor& dout, const Tensor& x, const Tensor& w, const Tensor& pre) {
  CHECK(dpre.defined() && w.defined()) << "linear: LinearBackwardGelu writes dpre from w";
  CHECK(pre.shape() == x.shape() && dpre.dtype() == pre.dtype())
      << "linear: pre " << DTypeName(pre.dtype()) << " " << pre.shape().ToString() << " vs x "
      << x.shape().ToString() << " and dpre " << DTypeName(dpre.dtype());
  if (dpre_bias.defined()) {
    CHECK(dpre_bias.ndim() == 1 && dpre_bias.dim(0) == dw.dim(1))
        << "linear: dpre_bias " << dpre_bias.shape().ToString() << " for " << dw.dim(1)
        << " inputs";
  }
  CheckBackward(dpre, dw, dbias, dout, x, w);
  BackendForOp(ctx, OpKind::kLinearBackwardGelu)
      .linear_backward_gelu(ctx, dpre, dw, dbias, dpre_bias, dout, x, w, pre);
}

bool FusedMlpSupported(const Context& ctx, DType activations) {
  const OpsBackend& backend = BackendFor(ctx.device());
  const OpShape shape{activations};
  return backend.supports(OpKind::kLinearBiasGeluForward, shape) &&
         backend.supports(OpKind::kLinearBackwardGelu, shape);
}

}  // namespace tigerfg::ops
