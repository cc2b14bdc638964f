// tests/ops/layernorm_test.cc — LayerNorm against a double-precision reference and central
// differences, plus the accumulate/overwrite rules of its backward pass and its bf16 variants.
#include "ops/layernorm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "runtime/core/bf16.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectEqualInDType;
using testing::ExpectGradientsMatch;
using testing::InDType;
using testing::MaxRelativeError;
using testing::RandomBuffer;
using testing::RoundedTo;

constexpr float kEps = 1e-6f;

struct Reference {
  Buffer out, mean, rstd;
};

Reference NaiveLayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  const int64_t C = gamma.numel(), N = x.numel() / C;
  Reference r{Buffer::Zeros(x.shape()), Buffer::Zeros({N}), Buffer::Zeros({N})};
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x.f32() + n * C;
    double mu = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) mu += xr[c];
    mu /= C;
    for (int64_t c = 0; c < C; ++c) var += (xr[c] - mu) * (xr[c] - mu);
    const double rstd = 1.0 / std::sqrt(var / C + kEps);
    r.mean.f32()[n] = static_cast<float>(mu);
    r.rstd.f32()[n] = static_cast<float>(rstd);
    for (int64_t c = 0; c < C; ++c)
      r.out.f32()[n * C + c] =
          static_cast<float>((xr[c] - mu) * rstd * gamma.f32()[c] + beta.f32()[c]);
  }
  return r;
}

TEST(LayerNorm, ForwardMatchesDoubleReference) {
  Rng rng(/*seed=*/21);
  const Context ctx = Context::Cpu();
  // [2, 3, 13] for leading dimensions; [300, 64] takes the threaded path.
  for (const Shape& shape : {Shape({2, 3, 13}), Shape({300, 64})}) {
    const int64_t C = shape[shape.ndim() - 1], N = shape.numel() / C;
    Buffer x = RandomBuffer(shape, rng), gamma = RandomBuffer({C}, rng),
           beta = RandomBuffer({C}, rng);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] += 50.0f;  // a large mean
    Buffer out = Buffer::Zeros(shape), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
    LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
    Reference ref = NaiveLayerNorm(x, gamma, beta);
    EXPECT_LT(MaxRelativeError(out, ref.out), 1e-5) << shape.ToString();
    EXPECT_LT(MaxRelativeError(mean, ref.mean), 1e-6) << shape.ToString();
    EXPECT_LT(MaxRelativeError(rstd, ref.rstd), 1e-5) << shape.ToString();
  }
}

TEST(LayerNorm, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/22);
  const Context ctx = Context::Cpu();
  const int64_t N = 7, C = 13;
  Buffer x = RandomBuffer({N, C}, rng), gamma = RandomBuffer({C}, rng),
         beta = RandomBuffer({C}, rng), proj = RandomBuffer({N, C}, rng);
  Buffer out = Buffer::Zeros({N, C}), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
  Buffer dx = Buffer::Zeros({N, C}), dgamma = Buffer::Zeros({C}), dbeta = Buffer::Zeros({C});
  LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
  LayerNormBackward(ctx, dx, dgamma, dbeta, proj, x, gamma, mean, rstd);
  auto loss = [&] {
    LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x, gamma, beta}, {dx, dgamma, dbeta}, /*step=*/1e-2,
                       /*tolerance=*/2e-3);
}

TEST(LayerNorm, ThreadedBackwardAccumulatesParamsAndWritesInput) {
  Rng rng(/*seed=*/23);
  const Context ctx = Context::Cpu();
  const int64_t N = 300, C = 64;  // N·C above the threading threshold
  Buffer x = RandomBuffer({N, C}, rng), gamma = RandomBuffer({C}, rng),
         beta = RandomBuffer({C}, rng), dout = RandomBuffer({N, C}, rng);
  Buffer out = Buffer::Zeros({N, C}), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
  LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
  Buffer dx1 = Buffer::Zeros({N, C}), dg1 = Buffer::Zeros({C}), db1 = Buffer::Zeros({C});
  LayerNormBackward(ctx, dx1, dg1, db1, dout, x, gamma, mean, rstd);

  // dgamma = Σ_n dout ⊙ xhat, dbeta = Σ_n dout, in double.
  Reference ref = NaiveLayerNorm(x, gamma, beta);
  Buffer dg_ref = Buffer::Zeros({C}), db_ref = Buffer::Zeros({C});
  for (int64_t c = 0; c < C; ++c) {
    double g = 0, b = 0;
    for (int64_t n = 0; n < N; ++n) {
      const double xhat = (x.f32()[n * C + c] - ref.mean.f32()[n]) * ref.rstd.f32()[n];
      g += dout.f32()[n * C + c] * xhat;
      b += dout.f32()[n * C + c];
    }
    dg_ref.f32()[c] = static_cast<float>(g);
    db_ref.f32()[c] = static_cast<float>(b);
  }
  EXPECT_LT(MaxRelativeError(dg1, dg_ref), 1e-5);
  EXPECT_LT(MaxRelativeError(db1, db_ref), 1e-5);

  Buffer dx2 = RandomBuffer({N, C}, rng), dg2 = Buffer::Zeros({C}), db2 = Buffer::Zeros({C});
  LayerNormBackward(ctx, dx2, dg2, db2, dout, x, gamma, mean, rstd);
  LayerNormBackward(ctx, dx2, dg2, db2, dout, x, gamma, mean, rstd);
  EXPECT_EQ(MaxRelativeError(dx2, dx1), 0.0);
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_NEAR(dg2.f32()[c], 2 * dg1.f32()[c], 1e-4) << c;
    EXPECT_NEAR(db2.f32()[c], 2 * db1.f32()[c], 1e-4) << c;
  }
}

// ---- bf16 activations: each BF16 variant equals the F32 op applied to the bf16-rounded inputs,
// with its output rounded to bf16.

TEST(LayerNorm, BF16OutputIsTheRoundedF32Output) {
  Rng rng(/*seed=*/24);
  const Context ctx = Context::Cpu();
  for (const Shape& shape : {Shape({2, 3, 13}), Shape({300, 64})}) {
    const int64_t C = shape[shape.ndim() - 1], N = shape.numel() / C;
    Buffer x = RandomBuffer(shape, rng, 2.0f), gamma = RandomBuffer({C}, rng),
           beta = RandomBuffer({C}, rng);
    Buffer out = Buffer::Zeros(shape), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
    LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
    Buffer out_bf16(DType::kBF16, shape), mean2 = Buffer::Zeros({N}), rstd2 = Buffer::Zeros({N});
    LayerNormForward(ctx, out_bf16, mean2, rstd2, x, gamma, beta, kEps);
    ExpectEqualInDType(out_bf16, out, "out " + shape.ToString());
    ExpectEqualInDType(mean2, mean, "mean " + shape.ToString());
    ExpectEqualInDType(rstd2, rstd, "rstd " + shape.ToString());
  }
}

TEST(LayerNorm, BF16GradientsAreTheRoundedF32Gradients) {
  Rng rng(/*seed=*/25);
  const Context ctx = Context::Cpu();
  for (const Shape& shape : {Shape({2, 3, 13}), Shape({300, 64})}) {
    const int64_t C = shape[shape.ndim() - 1], N = shape.numel() / C;
    Buffer x = RandomBuffer(shape, rng), gamma = RandomBuffer({C}, rng),
           beta = RandomBuffer({C}, rng), dout = RandomBuffer(shape, rng);
    Buffer out = Buffer::Zeros(shape), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
    LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps);
    for (DType dout_type : {DType::kF32, DType::kBF16}) {
      for (DType dx_type : {DType::kF32, DType::kBF16}) {
        const std::string name = std::string("dout ") + DTypeName(dout_type) + ", dx " +
                                 DTypeName(dx_type) + ", " + shape.ToString();
        // The reference: the F32 op on dout's rounded values.
        Buffer dx_ref = Buffer::Zeros(shape), dg_ref = Buffer::Zeros({C}),
               db_ref = Buffer::Zeros({C});
        LayerNormBackward(ctx, dx_ref, dg_ref, db_ref, RoundedTo(dout, dout_type), x, gamma, mean,
                          rstd);
        Buffer dx(dx_type, shape), dg = Buffer::Zeros({C}), db = Buffer::Zeros({C});
        LayerNormBackward(ctx, dx, dg, db, InDType(dout, dout_type), x, gamma, mean, rstd);
        ExpectEqualInDType(dx, dx_ref, "dx: " + name);
        ExpectEqualInDType(dg, dg_ref, "dgamma: " + name);
        ExpectEqualInDType(db, db_ref, "dbeta: " + name);
      }
    }
  }
}

TEST(LayerNorm, RejectsOtherActivationTypes) {
  const Context ctx = Context::Cpu();
  Buffer x = Buffer::Zeros({2, 4}), gamma = Buffer::Zeros({4}), beta = Buffer::Zeros({4});
  Buffer out(DType::kI32, {2, 4}), mean = Buffer::Zeros({2}), rstd = Buffer::Zeros({2});
  EXPECT_DEATH(LayerNormForward(ctx, out, mean, rstd, x, gamma, beta, kEps),
               "layernorm: out is I32, expected F32 or BF16");
}

}  // namespace
}  // namespace tigerfg::ops
