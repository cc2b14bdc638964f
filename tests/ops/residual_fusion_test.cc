// tests/ops/residual_fusion_test.cc — the residual stream's fused updates: LinearForwardAdd equals
// LinearForward plus the residual (also in place and with bf16 inputs), and LayerNormBackward with
// accumulate_dx equals the plain backward added onto dx.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/layernorm.h"
#include "ops/linear.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::MaxRelativeError;
using testing::RandomBuffer;

Buffer Copy(const Buffer& b) {
  Buffer c(b.dtype(), b.shape());
  std::copy_n(static_cast<const char*>(b.data()), b.nbytes(), static_cast<char*>(c.data()));
  return c;
}

TEST(LinearForwardAdd, EqualsLinearPlusResidual) {
  Rng rng(/*seed=*/41);
  const int64_t N = 33, I = 20, O = 17;
  Buffer x = RandomBuffer({N, I}, rng), w = RandomBuffer({O, I}, rng), b = RandomBuffer({O}, rng);
  Buffer residual = RandomBuffer({N, O}, rng);
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "bias" : "no bias");
    const Tensor bias = with_bias ? b.tensor() : Tensor();
    Buffer branch = Buffer::Zeros({N, O}), out = Buffer::Zeros({N, O});
    ops::LinearForward(Context::Cpu(), branch, x, w, bias);
    for (int64_t i = 0; i < branch.numel(); ++i) branch.f32()[i] += residual.f32()[i];
    ops::LinearForwardAdd(Context::Cpu(), out, x, w, bias, residual);
    EXPECT_LT(MaxRelativeError(out, branch), 1e-6);
    // In place: out is the residual.
    Buffer stream = Copy(residual);
    ops::LinearForwardAdd(Context::Cpu(), stream, x, w, bias, stream);
    EXPECT_LT(MaxRelativeError(stream, branch), 1e-6);
  }
}

TEST(LinearForwardAdd, Bf16InputsAreTheRoundedF32Computation) {
  Rng rng(/*seed=*/42);
  const int64_t N = 9, I = 12, O = 7;
  const Buffer x16 = testing::InDType(RandomBuffer({N, I}, rng), DType::kBF16);
  const Buffer w16 = testing::InDType(RandomBuffer({O, I}, rng), DType::kBF16);
  Buffer b = RandomBuffer({O}, rng), residual = RandomBuffer({N, O}, rng);
  Buffer x = testing::AsF32(x16), w = testing::AsF32(w16);
  Buffer want = Buffer::Zeros({N, O}), got = Buffer::Zeros({N, O});
  ops::LinearForwardAdd(Context::Cpu(), want, x, w, b, residual);
  ops::LinearForwardAdd(Context::Cpu(), got, x16, w16, b, residual);
  for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(got.f32()[i], want.f32()[i]) << i;
}

TEST(LayerNormBackward, AccumulateAddsOntoDx) {
  Rng rng(/*seed=*/43);
  const int64_t N = 40, C = 24;
  Buffer x = RandomBuffer({N, C}, rng), gamma = RandomBuffer({C}, rng);
  Buffer beta = RandomBuffer({C}, rng), dout = RandomBuffer({N, C}, rng);
  Buffer out = Buffer::Zeros({N, C}), mean = Buffer::Zeros({N}), rstd = Buffer::Zeros({N});
  ops::LayerNormForward(Context::Cpu(), out, mean, rstd, x, gamma, beta, 1e-6f);
  Buffer dg = Buffer::Zeros({C}), db = Buffer::Zeros({C}), dx = Buffer::Zeros({N, C});
  ops::LayerNormBackward(Context::Cpu(), dx, dg, db, dout, x, gamma, mean, rstd);
  Buffer start = RandomBuffer({N, C}, rng);
  Buffer acc = Copy(start);
  Buffer dg2 = Buffer::Zeros({C}), db2 = Buffer::Zeros({C});
  ops::LayerNormBackward(Context::Cpu(), acc, dg2, db2, dout, x, gamma, mean, rstd,
                         /*accumulate_dx=*/true);
  for (int64_t i = 0; i < acc.numel(); ++i) {
    // The sum may be fused into one FMA with the gradient's last product: a rounding apart.
    const float want = start.f32()[i] + dx.f32()[i];
    ASSERT_NEAR(acc.f32()[i], want, 1e-6f * (1.0f + std::fabs(want))) << i;
  }
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_EQ(dg2.f32()[c], dg.f32()[c]);
    EXPECT_EQ(db2.f32()[c], db.f32()[c]);
  }
}

}  // namespace
}  // namespace tigerfg
