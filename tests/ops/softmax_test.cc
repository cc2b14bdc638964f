// tests/ops/softmax_test.cc — softmax/log-softmax against a double reference (large and -inf
// logits included) and central differences.
#include "ops/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

TEST(Softmax, ForwardMatchesDoubleReference) {
  Rng rng(/*seed=*/61);
  const Context ctx = Context::Cpu();
  for (const Shape& shape : {Shape({7, 13}), Shape({3, 200, 37})}) {  // the second is threaded
    const int64_t C = shape[shape.ndim() - 1], N = shape.numel() / C;
    Buffer x = RandomBuffer(shape, rng, /*stddev=*/5.0f);
    x.f32()[0] += 1000.0f;  // would overflow without the max shift
    x.f32()[C + 1] = -std::numeric_limits<float>::infinity();  // a masked logit
    Buffer prob = Buffer::Zeros(shape), logp = Buffer::Zeros(shape);
    SoftmaxForward(ctx, prob, x);
    LogSoftmaxForward(ctx, logp, x);
    for (int64_t n = 0; n < N; ++n) {
      const float* xr = x.f32() + n * C;
      double m = -INFINITY, sum = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, static_cast<double>(xr[c]));
      for (int64_t c = 0; c < C; ++c) sum += std::exp(xr[c] - m);
      for (int64_t c = 0; c < C; ++c) {
        const double p = std::exp(xr[c] - m) / sum, lp = xr[c] - m - std::log(sum);
        ASSERT_NEAR(prob.f32()[n * C + c], p, 3e-6 * std::max(p, 1e-3)) << n << ", " << c;
        if (std::isinf(lp)) {
          ASSERT_EQ(logp.f32()[n * C + c], lp);
        } else {
          ASSERT_NEAR(logp.f32()[n * C + c], lp, 2e-6 * std::max(std::fabs(lp), 1.0))
              << n << ", " << c;
        }
      }
    }
  }
}

TEST(Softmax, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/62);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({7, 13}, rng, /*stddev=*/2.0f), proj = RandomBuffer({7, 13}, rng);
  Buffer out = Buffer::Zeros({7, 13}), dx = RandomBuffer({7, 13}, rng);
  SoftmaxForward(ctx, out, x);
  SoftmaxBackward(ctx, dx, proj, out);
  auto loss = [&] {
    SoftmaxForward(ctx, out, x);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x}, {dx}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

TEST(LogSoftmax, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/63);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({7, 13}, rng, /*stddev=*/2.0f), proj = RandomBuffer({7, 13}, rng);
  Buffer out = Buffer::Zeros({7, 13}), dx = RandomBuffer({7, 13}, rng);
  LogSoftmaxForward(ctx, out, x);
  LogSoftmaxBackward(ctx, dx, proj, out);
  auto loss = [&] {
    LogSoftmaxForward(ctx, out, x);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x}, {dx}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

}  // namespace
}  // namespace tigerfg::ops
