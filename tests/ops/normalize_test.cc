// tests/ops/normalize_test.cc — L2 normalisation against a double reference, central differences,
// and F.normalize's rule for zero rows.
#include "ops/normalize.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

TEST(L2Normalize, ForwardMatchesDoubleReference) {
  Rng rng(/*seed=*/51);
  const Context ctx = Context::Cpu();
  for (const Shape& shape : {Shape({7, 13}), Shape({2, 400, 33})}) {  // the second is threaded
    const int64_t D = shape[shape.ndim() - 1], N = shape.numel() / D;
    Buffer x = RandomBuffer(shape, rng, /*stddev=*/3.0f), out = Buffer::Zeros(shape),
           norm = Buffer::Zeros({N});
    L2NormalizeForward(ctx, out, norm, x);
    for (int64_t n = 0; n < N; ++n) {
      double sq = 0;
      for (int64_t d = 0; d < D; ++d)
        sq += static_cast<double>(x.f32()[n * D + d]) * x.f32()[n * D + d];
      const double length = std::sqrt(sq);
      ASSERT_NEAR(norm.f32()[n], length, 1e-6 * length) << n;
      for (int64_t d = 0; d < D; ++d)
        ASSERT_NEAR(out.f32()[n * D + d], x.f32()[n * D + d] / length, 1e-6) << n << ", " << d;
    }
  }
}

TEST(L2Normalize, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/52);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({7, 13}, rng), proj = RandomBuffer({7, 13}, rng);
  Buffer out = Buffer::Zeros({7, 13}), norm = Buffer::Zeros({7}), dx = RandomBuffer({7, 13}, rng);
  L2NormalizeForward(ctx, out, norm, x);
  L2NormalizeBackward(ctx, dx, proj, out, norm);  // dx held garbage: it must be overwritten
  auto loss = [&] {
    L2NormalizeForward(ctx, out, norm, x);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x}, {dx}, /*step=*/1e-2, /*tolerance=*/2e-3);
}

TEST(L2Normalize, ZeroRowGivesZerosNotNaN) {
  const Context ctx = Context::Cpu();
  Buffer x = Buffer::Zeros({2, 5}), out = Buffer::Zeros({2, 5}), norm = Buffer::Zeros({2});
  for (int64_t d = 0; d < 5; ++d) x.f32()[5 + d] = static_cast<float>(d + 1);
  L2NormalizeForward(ctx, out, norm, x);
  EXPECT_EQ(norm.f32()[0], 0.0f);
  for (int64_t d = 0; d < 5; ++d) EXPECT_EQ(out.f32()[d], 0.0f);
  EXPECT_NEAR(out.f32()[9], 5.0 / std::sqrt(55.0), 1e-6);
  // Below eps PyTorch divides by the constant eps: dx = dout / 1e-12, finite.
  Buffer dout = Buffer::Zeros({2, 5}), dx = Buffer::Zeros({2, 5});
  dout.f32()[2] = 1e-13f;
  L2NormalizeBackward(ctx, dx, dout, out, norm);
  for (int64_t i = 0; i < 10; ++i) EXPECT_TRUE(std::isfinite(dx.f32()[i])) << i;
  EXPECT_NEAR(dx.f32()[2], 0.1, 1e-6);
  EXPECT_EQ(dx.f32()[0], 0.0f);
}

}  // namespace
}  // namespace tigerfg::ops
