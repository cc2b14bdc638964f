// tests/ops/cast_test.cc — Cast on the CPU: fp32 -> bf16 equals the scalar rounding element by
// element (threaded path included), bf16 -> fp32 is exact, same-dtype casts copy the bytes.
#include "ops/cast.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "runtime/core/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::RandomBuffer;

TEST(Cast, FloatToBF16RoundsEveryElement) {
  Rng rng(/*seed=*/81);
  const Context ctx = Context::Cpu();
  for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{(1 << 17) + 5}}) {
    Buffer in = RandomBuffer({n}, rng, 30.0f);
    Buffer out(DType::kBF16, {n});
    Cast(ctx, out, in);
    const uint16_t* h = out.tensor().bf16();
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += h[i] != FloatToBF16(in.f32()[i]);
    EXPECT_EQ(bad, 0) << "n = " << n;
  }
}

TEST(Cast, BF16ToFloatIsExactAndShapesMayDiffer) {
  Rng rng(/*seed=*/82);
  const Context ctx = Context::Cpu();
  const int64_t n = (1 << 17) + 3;
  Buffer half(DType::kBF16, {n});
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h = static_cast<uint16_t>(rng.NextU64());
    if ((h & 0x7F80) == 0x7F80) h = 0x3F80;  // keep NaN/inf out of the bitwise comparison
    half.tensor().bf16()[i] = h;
  }
  Buffer out = Buffer::Zeros({n});
  Cast(ctx, out.tensor(), half.tensor().View({1, n}));
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += out.f32()[i] != BF16ToFloat(half.tensor().bf16()[i]);
  EXPECT_EQ(bad, 0);
}

TEST(Cast, SameDTypeCopiesBytes) {
  Rng rng(/*seed=*/83);
  const Context ctx = Context::Cpu();
  for (int64_t n : {int64_t{7}, int64_t{1 << 19}}) {  // one chunk; many chunks, threaded
    Buffer in = RandomBuffer({n}, rng);
    Buffer out = Buffer::Zeros({n});
    Cast(ctx, out, in);
    EXPECT_EQ(std::memcmp(out.data(), in.data(), in.nbytes()), 0) << "n = " << n;
    Buffer half_in(DType::kBF16, {n}), half_out(DType::kBF16, {n});
    Cast(ctx, half_in, in);
    Cast(ctx, half_out, half_in);
    EXPECT_EQ(std::memcmp(half_out.data(), half_in.data(), half_in.nbytes()), 0) << "n = " << n;
  }
}

TEST(Cast, RejectsMismatchedSizesAndTypes) {
  const Context ctx = Context::Cpu();
  Buffer f = Buffer::Zeros({4});
  Buffer half(DType::kBF16, {5});
  EXPECT_DEATH(Cast(ctx, half, f), "cast: out");
  Buffer ids(DType::kI64, {4});
  EXPECT_DEATH(Cast(ctx, ids, f), "F32 -> I64 is not supported");
}

}  // namespace
}  // namespace tigerfg::ops
