// ops/layernorm.cc — the public LayerNorm ops: shapes checked once, then the device's backend.
#include "ops/layernorm.h"

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {

void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps) {
  CHECK_EQ(gamma.ndim(), 1) << "layernorm: gamma " << gamma.shape().ToString();
  const int64_t C = gamma.dim(0);
  CHECK(beta.shape() == gamma.shape()) << "layernorm: beta " << beta.shape().ToString();
  CHECK(out.shape() == x.shape()) << "layernorm: out " << out.shape().ToString() << " vs x "
                                  << x.shape().ToString();
  const int64_t N = CheckRows(x, C, "layernorm", "x");
  CHECK(C > 0 || N == 0) << "layernorm: empty feature dimension";
  CHECK(mean.numel() == N && rstd.numel() == N)
      << "layernorm: mean " << mean.shape().ToString() << " / rstd " << rstd.shape().ToString()
      << " for " << N << " rows";
  BackendForOp(ctx, OpKind::kLayerNormForward)
      .layer_norm_forward(ctx, out, mean, rstd, x, gamma, beta, eps);
}

namespace {

void CheckBackward(const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta, const Tensor& dout,
                   const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd) {
  CHECK_EQ(gamma.ndim(), 1) << "layernorm: gamma " << gamma.shape().ToString();
  const int64_t C = gamma.dim(0);
  CHECK(dgamma.shape() == gamma.shape() && dbeta.shape() == gamma.shape())
      << "layernorm: dgamma " << dgamma.shape().ToString() << " / dbeta "
      << dbeta.shape().ToString() << " vs gamma " << gamma.shape().ToString();
  CHECK(dx.shape() == x.shape() && dout.shape() == x.shape())
      << "layernorm: dx " << dx.shape().ToString() << " / dout " << dout.shape().ToString()
      << " vs x " << x.shape().ToString();
  const int64_t N = CheckRows(x, C, "layernorm", "x");
  CHECK(mean.numel() == N && rstd.numel() == N)
      << "layernorm: mean " << mean.shape().ToString() << " / rstd " << rstd.shape().ToString()
      << " for " << N << " rows";
}

}  // namespace

void LayerNormBackward(const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta,
                       const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, bool accumulate_dx) {
  CheckBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd);
  BackendForOp(ctx, OpKind::kLayerNormBackward)
      .layer_norm_backward(ctx, dx, dgamma, dbeta, dout, x, gamma, mean, rstd, accumulate_dx);
}

void LayerNormBackwardWithCopy(const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma,
                               Tensor dbeta, const Tensor& dout, const Tensor& x,
                               const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                               bool accumulate_dx) {
  CheckBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd);
  CHECK(dx16.dtype() == DType::kBF16 && dx16.shape() == dx.shape())
      << "layernorm: dx16 is " << DTypeName(dx16.dtype()) << " " << dx16.shape().ToString()
      << ", expected BF16 " << dx.shape().ToString();
  BackendForOp(ctx, OpKind::kLayerNormBackwardWithCopy)
      .layer_norm_backward_with_copy(ctx, dx, dx16, dgamma, dbeta, dout, x, gamma, mean, rstd,
                                     accumulate_dx);
}

}  // namespace tigerfg::ops
