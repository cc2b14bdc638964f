// tests/ops/linear_test.cc — Linear against a naive double-precision product and central
// differences, plus the accumulate/overwrite rules of its backward pass.
#include "ops/linear.h"

#include <gtest/gtest.h>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::MaxRelativeError;
using testing::RandomBuffer;

// out[N, O] = x[N, I] w[O, I]^T + bias, in double.
Buffer NaiveLinear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t O = w.dim(0), I = w.dim(1), N = x.numel() / I;
  Buffer out = Buffer::Zeros({N, O});
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t o = 0; o < O; ++o) {
      double s = bias.defined() ? bias.f32()[o] : 0.0;
      for (int64_t i = 0; i < I; ++i)
        s += static_cast<double>(x.f32()[n * I + i]) * w.f32()[o * I + i];
      out.f32()[n * O + o] = static_cast<float>(s);
    }
  }
  return out;
}

TEST(Linear, ForwardMatchesNaiveProduct) {
  Rng rng(/*seed=*/1);
  const Context ctx = Context::Cpu();
  for (int64_t N : {1, 7, 1100}) {
    const int64_t I = 13, O = 70;
    Buffer x = RandomBuffer({N, I}, rng), w = RandomBuffer({O, I}, rng), b = RandomBuffer({O}, rng);
    Buffer out = Buffer::Zeros({N, O});
    LinearForward(ctx, out, x, w, b);
    EXPECT_LT(MaxRelativeError(out, NaiveLinear(x, w, b)), 1e-5) << "N = " << N;
    LinearForward(ctx, out, x, w, Tensor());
    EXPECT_LT(MaxRelativeError(out, NaiveLinear(x, w, Tensor())), 1e-5) << "no bias, N = " << N;
  }
}

TEST(Linear, AcceptsLeadingDimensions) {
  Rng rng(/*seed=*/2);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({2, 3, 13}, rng), w = RandomBuffer({5, 13}, rng),
         b = RandomBuffer({5}, rng);
  Buffer out = Buffer::Zeros({2, 3, 5});
  LinearForward(ctx, out, x, w, b);
  EXPECT_LT(MaxRelativeError(out, NaiveLinear(x, w, b)), 1e-5);
}

TEST(Linear, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/3);
  const Context ctx = Context::Cpu();
  const int64_t N = 7, I = 13, O = 5;
  Buffer x = RandomBuffer({N, I}, rng), w = RandomBuffer({O, I}, rng), b = RandomBuffer({O}, rng);
  Buffer proj = RandomBuffer({N, O}, rng), out = Buffer::Zeros({N, O});
  Buffer dx = Buffer::Zeros({N, I}), dw = Buffer::Zeros({O, I}), db = Buffer::Zeros({O});
  LinearBackward(ctx, dx, dw, db, proj, x, w);
  auto loss = [&] {
    LinearForward(ctx, out, x, w, b);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x, w, b}, {dx, dw, db}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

TEST(Linear, BackwardAccumulatesWeightsAndWritesInput) {
  Rng rng(/*seed=*/4);
  const Context ctx = Context::Cpu();
  const int64_t N = 1100, I = 9, O = 70;  // N·O above the threshold of the threaded bias sum
  Buffer x = RandomBuffer({N, I}, rng), w = RandomBuffer({O, I}, rng),
         dout = RandomBuffer({N, O}, rng);
  Buffer dx1 = Buffer::Zeros({N, I}), dw1 = Buffer::Zeros({O, I}), db1 = Buffer::Zeros({O});
  LinearBackward(ctx, dx1, dw1, db1, dout, x, w);
  // dbias against a double column sum, dx against the naive product dout · w.
  Buffer db_ref = Buffer::Zeros({O});
  for (int64_t o = 0; o < O; ++o) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += dout.f32()[n * O + o];
    db_ref.f32()[o] = static_cast<float>(s);
  }
  EXPECT_LT(MaxRelativeError(db1, db_ref), 1e-5);
  Buffer wt = Buffer::Zeros({I, O});
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i) wt.f32()[i * O + o] = w.f32()[o * I + i];
  EXPECT_LT(MaxRelativeError(dx1, NaiveLinear(dout, wt, Tensor())), 1e-5);

  Buffer dx2 = RandomBuffer({N, I}, rng);  // garbage that must be overwritten
  Buffer dw2 = Buffer::Zeros({O, I}), db2 = Buffer::Zeros({O});
  LinearBackward(ctx, dx2, dw2, db2, dout, x, w);
  LinearBackward(ctx, dx2, dw2, db2, dout, x, w);
  EXPECT_LT(MaxRelativeError(dx2, dx1), 1e-6);
  for (int64_t i = 0; i < O * I; ++i) EXPECT_NEAR(dw2.f32()[i], 2 * dw1.f32()[i], 1e-3) << i;
  for (int64_t o = 0; o < O; ++o) EXPECT_NEAR(db2.f32()[o], 2 * db1.f32()[o], 1e-3) << o;
}

TEST(Linear, BackwardWithoutInputGradientOrBias) {
  Rng rng(/*seed=*/5);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({7, 13}, rng), w = RandomBuffer({5, 13}, rng),
         dout = RandomBuffer({7, 5}, rng);
  Buffer dw_full = Buffer::Zeros({5, 13}), dx = Buffer::Zeros({7, 13}), db = Buffer::Zeros({5});
  LinearBackward(ctx, dx, dw_full, db, dout, x, w);
  Buffer dw = Buffer::Zeros({5, 13});
  LinearBackward(ctx, Tensor(), dw, Tensor(), dout, x, Tensor());
  EXPECT_EQ(MaxRelativeError(dw, dw_full), 0.0);
}

}  // namespace
}  // namespace tigerfg::ops
