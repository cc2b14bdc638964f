// tests/runtime/bf16_test.cc — float <-> bf16 rounding against a reference that picks the nearer
// neighbour in double, the special values (ties, overflow, NaN, signed zero, subnormals) and the
// bulk conversions against the scalar ones.
#include "runtime/core/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/core/rng.h"

namespace tigerfg {
namespace {

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint32_t Bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// The bf16 pattern as a double; the pattern one past the largest finite magnitude counts as
// 2^128, the boundary IEEE rounding uses for overflow.
double BF16AsDouble(uint32_t pattern) {
  const double sign = (pattern & 0x8000u) ? -1.0 : 1.0;
  if ((pattern & 0x7FFFu) == 0x7F80u) return sign * std::ldexp(1.0, 128);
  return static_cast<double>(FromBits(pattern << 16));
}

// Round-to-nearest-even by comparing the distances to the two bf16 neighbours of f in double.
uint16_t ReferenceBF16(float f) {
  if (std::isnan(f)) return kBF16CanonicalNaN;
  if (std::isinf(f)) return f > 0 ? 0x7F80 : 0xFF80;
  const uint32_t toward_zero = Bits(f) >> 16;
  const uint32_t away = toward_zero + 1;
  const double d_low = std::fabs(static_cast<double>(f) - BF16AsDouble(toward_zero));
  const double d_high = std::fabs(BF16AsDouble(away) - static_cast<double>(f));
  if (d_low < d_high) return static_cast<uint16_t>(toward_zero);
  if (d_high < d_low) return static_cast<uint16_t>(away);
  return static_cast<uint16_t>((toward_zero & 1u) ? away : toward_zero);
}

TEST(BF16, ExactValuesConvertExactly) {
  EXPECT_EQ(FloatToBF16(1.0f), 0x3F80);
  EXPECT_EQ(FloatToBF16(-2.0f), 0xC000);
  EXPECT_EQ(FloatToBF16(0.0f), 0x0000);
  EXPECT_EQ(FloatToBF16(-0.0f), 0x8000);
  EXPECT_TRUE(std::signbit(BF16ToFloat(FloatToBF16(-0.0f))));
  EXPECT_EQ(FloatToBF16(3.140625f), 0x4049);  // 3.140625 has 8 significant bits
  EXPECT_EQ(BF16ToFloat(0x4049), 3.140625f);
  EXPECT_EQ(BF16ToFloat(0x7F7F), FromBits(0x7F7F0000u));  // the largest finite bf16
}

TEST(BF16, TiesGoToEven) {
  // 1 + 2^-8 lies halfway between 1 (even mantissa) and 1 + 2^-7 (odd).
  EXPECT_EQ(FloatToBF16(FromBits(0x3F808000u)), 0x3F80);
  // Halfway between 0x3F81 (odd) and 0x3F82 (even).
  EXPECT_EQ(FloatToBF16(FromBits(0x3F818000u)), 0x3F82);
  // Just above / below halfway.
  EXPECT_EQ(FloatToBF16(FromBits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(FloatToBF16(FromBits(0x3F807FFFu)), 0x3F80);
  // Negative values round by magnitude.
  EXPECT_EQ(FloatToBF16(FromBits(0xBF818000u)), 0xBF82);
  // Subnormals: halfway between 0 and the smallest bf16 subnormal goes to 0.
  EXPECT_EQ(FloatToBF16(FromBits(0x00008000u)), 0x0000);
  EXPECT_EQ(FloatToBF16(FromBits(0x00018000u)), 0x0002);
  // A carry into the exponent: 0x3FFF8000 (odd, halfway) rounds to 2.0.
  EXPECT_EQ(FloatToBF16(FromBits(0x3FFF8000u)), 0x4000);
}

TEST(BF16, OverflowInfinityAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(FloatToBF16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(FloatToBF16(-std::numeric_limits<float>::max()), 0xFF80);
  EXPECT_EQ(FloatToBF16(FromBits(0x7F7F7FFFu)), 0x7F7F);  // below the overflow boundary
  EXPECT_EQ(FloatToBF16(inf), 0x7F80);
  EXPECT_EQ(FloatToBF16(-inf), 0xFF80);
  EXPECT_TRUE(std::isinf(BF16ToFloat(0x7F80)));
  // Quiet, signalling (payload only in the low half: naive rounding would give infinity) and
  // negative NaNs all stay NaN.
  for (uint32_t nan_bits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0xFFFFFFFFu, 0x7F80FFFFu}) {
    const uint16_t h = FloatToBF16(FromBits(nan_bits));
    EXPECT_EQ(h, kBF16CanonicalNaN) << std::hex << nan_bits;
    EXPECT_TRUE(std::isnan(BF16ToFloat(h))) << std::hex << nan_bits;
  }
}

TEST(BF16, EveryBF16RoundTrips) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = BF16ToFloat(static_cast<uint16_t>(h));
    EXPECT_EQ(Bits(f), h << 16);
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToBF16(f), h) << std::hex << h;
  }
}

TEST(BF16, MatchesNearestNeighbourReference) {
  // Every bf16 pattern with low halves at and around the rounding boundaries, then random floats.
  const uint32_t lows[] = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000};
  int64_t mismatches = 0;
  for (uint32_t high = 0; high <= 0xFFFF; ++high) {
    for (uint32_t low : lows) {
      const float f = FromBits(high << 16 | low);
      if (FloatToBF16(f) != ReferenceBF16(f) && mismatches++ < 10)
        ADD_FAILURE() << "bits " << std::hex << (high << 16 | low) << ": got " << FloatToBF16(f)
                      << ", want " << ReferenceBF16(f);
    }
  }
  Rng rng(/*seed=*/71);
  for (int i = 0; i < 1000000; ++i) {
    const float f = FromBits(static_cast<uint32_t>(rng.NextU64()));
    if (FloatToBF16(f) != ReferenceBF16(f) && mismatches++ < 10)
      ADD_FAILURE() << "bits " << std::hex << Bits(f) << ": got " << FloatToBF16(f) << ", want "
                    << ReferenceBF16(f);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(BF16, BulkConversionsMatchScalar) {
  Rng rng(/*seed=*/72);
  // Short (vector body + tail), and long enough for the threaded path.
  for (int64_t n : {int64_t{0}, int64_t{5}, int64_t{8}, int64_t{37}, int64_t{(1 << 18) + 3}}) {
    std::vector<float> in(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      // Mostly ordinary values, some raw bit patterns (NaNs, infinities, subnormals).
      in[i] = i % 7 == 3 ? FromBits(static_cast<uint32_t>(rng.NextU64()))
                         : static_cast<float>(rng.Normal() * 100.0);
    }
    std::vector<uint16_t> half(static_cast<size_t>(n));
    FloatToBF16(in.data(), half.data(), n);
    std::vector<float> back(static_cast<size_t>(n));
    BF16ToFloat(half.data(), back.data(), n);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (half[i] != FloatToBF16(in[i]) || Bits(back[i]) != static_cast<uint32_t>(half[i]) << 16)
        ++bad;
    }
    EXPECT_EQ(bad, 0) << "n = " << n;
  }
}

}  // namespace
}  // namespace tigerfg
