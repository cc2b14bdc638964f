// tests/ops/linear_bf16_test.cc — the linear op's BF16 arguments on the CPU: the result is the
// fp32 computation on the rounded inputs, rounded once (what the CUDA bf16 GEMM is held to).
#include <gtest/gtest.h>

#include "ops/linear.h"
#include "runtime/core/bf16.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::AsF32;
using testing::InDType;
using testing::RandomBuffer;

TEST(LinearBf16, ForwardRoundsTheF32ResultOfRoundedInputs) {
  Rng rng(/*seed=*/31);
  const int64_t N = 37, I = 24, O = 19;
  Buffer x16 = InDType(RandomBuffer({N, I}, rng), DType::kBF16),
         w16 = InDType(RandomBuffer({O, I}, rng), DType::kBF16);
  Buffer bias = RandomBuffer({O}, rng);
  Buffer x = AsF32(x16), w = AsF32(w16);
  Buffer ref = Buffer::Zeros({N, O}), out16(DType::kBF16, Shape({N, O}));
  Buffer out32 = Buffer::Zeros({N, O});
  ops::LinearForward(Context::Cpu(), ref, x, w, bias);
  ops::LinearForward(Context::Cpu(), out16, x16, w16, bias);
  ops::LinearForward(Context::Cpu(), out32, x16, w16, bias);  // bf16 inputs, fp32 output
  for (int64_t i = 0; i < ref.numel(); ++i) {
    ASSERT_EQ(out16.tensor().bf16()[i], FloatToBF16(ref.f32()[i])) << i;
    ASSERT_EQ(out32.f32()[i], ref.f32()[i]) << i;
  }
}

TEST(LinearBf16, BackwardAccumulatesF32ParameterGradients) {
  Rng rng(/*seed=*/32);
  const int64_t N = 29, I = 16, O = 11;
  Buffer x16 = InDType(RandomBuffer({N, I}, rng), DType::kBF16),
         w16 = InDType(RandomBuffer({O, I}, rng), DType::kBF16);
  Buffer dout16 = InDType(RandomBuffer({N, O}, rng), DType::kBF16);
  Buffer x = AsF32(x16), w = AsF32(w16), dout = AsF32(dout16);
  Buffer seed_dw = RandomBuffer({O, I}, rng), seed_db = RandomBuffer({O}, rng);
  Buffer dx = Buffer::Zeros({N, I}), dw = Buffer::Zeros({O, I}), db = Buffer::Zeros({O});
  Buffer dx16(DType::kBF16, Shape({N, I}));
  Buffer dw16 = Buffer::Zeros({O, I}), db16 = Buffer::Zeros({O});
  for (int64_t i = 0; i < dw.numel(); ++i) dw.f32()[i] = dw16.f32()[i] = seed_dw.f32()[i];
  for (int64_t i = 0; i < db.numel(); ++i) db.f32()[i] = db16.f32()[i] = seed_db.f32()[i];
  ops::LinearBackward(Context::Cpu(), dx, dw, db, dout, x, w);
  ops::LinearBackward(Context::Cpu(), dx16, dw16, db16, dout16, x16, w16);
  for (int64_t i = 0; i < dx.numel(); ++i) {
    ASSERT_EQ(dx16.tensor().bf16()[i], FloatToBF16(dx.f32()[i])) << i;
  }
  for (int64_t i = 0; i < dw.numel(); ++i) ASSERT_EQ(dw16.f32()[i], dw.f32()[i]) << i;
  for (int64_t i = 0; i < db.numel(); ++i) ASSERT_EQ(db16.f32()[i], db.f32()[i]) << i;
  // The accumulation really added onto the seeds.
  EXPECT_NE(dw.f32()[0], seed_dw.f32()[0]);
}

}  // namespace
}  // namespace tigerfg
