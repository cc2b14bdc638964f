// tests/ops/gelu_test.cc — tanh GELU against the double-precision formula (including the tails,
// where the fast exp clamps) and central differences. Also its bf16 variants.
#include "ops/gelu.h"

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
using testing::RandomBuffer;
using testing::RoundedTo;

double GeluReference(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

double GeluDerivativeReference(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  const double t = std::tanh(k * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
}

TEST(Gelu, ForwardAndDerivativeMatchFormula) {
  const Context ctx = Context::Cpu();
  // 40001 points on [-20, 20] (threaded path) plus the far tails in the scalar remainder.
  const int64_t n = 40001 + 4;
  Buffer x = Buffer::Zeros({n}), out = Buffer::Zeros({n}), dx = Buffer::Zeros({n}),
         ones = Buffer::Zeros({n});
  for (int64_t i = 0; i < 40001; ++i) x.f32()[i] = -20.0f + 40.0f * i / 40000;
  x.f32()[40001] = -1000.0f;
  x.f32()[40002] = 1000.0f;
  x.f32()[40003] = 1e-30f;
  x.f32()[40004] = -3.5f;
  x.f32()[0] = -1000.0f;  // the tails through the vector path too
  x.f32()[1] = 1000.0f;
  for (int64_t i = 0; i < n; ++i) ones.f32()[i] = 1.0f;
  GeluForward(ctx, out, x);
  GeluBackward(ctx, dx, ones, x);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x.f32()[i];
    const double y = GeluReference(v), dy = GeluDerivativeReference(v);
    ASSERT_NEAR(out.f32()[i], y, 2e-6 * std::max(1.0, std::fabs(y)) + 1e-30) << "x = " << v;
    ASSERT_NEAR(dx.f32()[i], dy, 2e-6 * std::max(1.0, std::fabs(dy))) << "x = " << v;
  }
}

TEST(Gelu, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/31);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({7, 13}, rng, /*stddev=*/2.0f), proj = RandomBuffer({7, 13}, rng);
  Buffer out = Buffer::Zeros({7, 13}), dx = Buffer::Zeros({7, 13});
  GeluBackward(ctx, dx, proj, x);
  auto loss = [&] {
    GeluForward(ctx, out, x);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {x}, {dx}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

TEST(Gelu, BackwardMayOverwriteDout) {
  Rng rng(/*seed=*/32);
  const Context ctx = Context::Cpu();
  Buffer x = RandomBuffer({5, 11}, rng), dout = RandomBuffer({5, 11}, rng);
  Buffer expected = Buffer::Zeros({5, 11});
  GeluBackward(ctx, expected, dout, x);
  GeluBackward(ctx, dout, dout, x);
  for (int64_t i = 0; i < dout.numel(); ++i) EXPECT_EQ(dout.f32()[i], expected.f32()[i]) << i;
}

// ---- bf16 activations: each BF16 variant equals the F32 op applied to the bf16-rounded inputs,
// with its output rounded to bf16.

constexpr DType kTypes[] = {DType::kF32, DType::kBF16};

TEST(Gelu, BF16ForwardIsTheRoundedF32Forward) {
  Rng rng(/*seed=*/33);
  const Context ctx = Context::Cpu();
  for (int64_t n : {int64_t{1003}, int64_t{40005}}) {  // vector body + tail; threaded
    Buffer x = RandomBuffer({n}, rng, /*stddev=*/3.0f);
    for (DType x_type : kTypes) {
      Buffer want = Buffer::Zeros({n});
      GeluForward(ctx, want, RoundedTo(x, x_type));
      for (DType out_type : kTypes) {
        Buffer out(out_type, {n});
        GeluForward(ctx, out, InDType(x, x_type));
        ExpectEqualInDType(out, want,
                           std::string("x ") + DTypeName(x_type) + ", n " + std::to_string(n));
      }
    }
  }
}

TEST(Gelu, BF16BackwardIsTheRoundedF32Backward) {
  Rng rng(/*seed=*/34);
  const Context ctx = Context::Cpu();
  for (int64_t n : {int64_t{1003}, int64_t{40005}}) {
    Buffer x = RandomBuffer({n}, rng, /*stddev=*/3.0f), dout = RandomBuffer({n}, rng);
    for (DType x_type : kTypes) {
      for (DType dout_type : kTypes) {
        Buffer want = Buffer::Zeros({n});
        GeluBackward(ctx, want, RoundedTo(dout, dout_type), RoundedTo(x, x_type));
        for (DType dx_type : kTypes) {
          Buffer dx(dx_type, {n});
          GeluBackward(ctx, dx, InDType(dout, dout_type), InDType(x, x_type));
          ExpectEqualInDType(dx, want,
                             std::string("x ") + DTypeName(x_type) + ", dout " +
                                 DTypeName(dout_type) + ", n " + std::to_string(n));
        }
      }
    }
  }
}

TEST(Gelu, BF16BackwardMayOverwriteDout) {
  Rng rng(/*seed=*/35);
  const Context ctx = Context::Cpu();
  Buffer x = InDType(RandomBuffer({5, 11}, rng), DType::kBF16);
  Buffer dout = InDType(RandomBuffer({5, 11}, rng), DType::kBF16);
  Buffer expected(DType::kBF16, {5, 11});
  GeluBackward(ctx, expected, dout, x);
  GeluBackward(ctx, dout, dout, x);
  EXPECT_EQ(std::memcmp(dout.data(), expected.data(), dout.nbytes()), 0);
  // Aliased buffers of different element types cannot be overwritten in place.
  Tensor as_f32(dout.data(), DType::kF32, {5, 11});
  EXPECT_DEATH(GeluBackward(ctx, as_f32, dout, x), "dx aliases dout with another dtype");
}

}  // namespace
}  // namespace tigerfg::ops
