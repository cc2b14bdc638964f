// tests/cuda/cast_test.cc — Cast on CUDA against the CPU twin bit for bit: fp32 -> bf16 rounding
// (special values, ties, vector body and tail, misaligned views), bf16 -> fp32 for every bf16
// pattern, and same-dtype copies.
#include "ops/cast.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "runtime/core/bf16.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::Gpu;
using cuda_testing::Same;
using cuda_testing::ToHost;
using cuda_testing::Twin;

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// An output on both sides, every byte 0xFF: no conversion result has that pattern (NaN rounds
// to 0x7FFF, bf16 -> fp32 has a zero low half), so an unwritten element shows.
Twin Poisoned(DType dtype, Shape shape) {
  Buffer poison(dtype, shape);
  std::memset(poison.data(), 0xFF, poison.nbytes());
  return Same(poison);
}

// `count` elements of `dtype` from element `offset` on: views that are not 16-byte aligned.
Tensor ViewAt(const Tensor& t, int64_t offset, int64_t count) {
  return Tensor(static_cast<char*>(t.data()) + offset * DTypeSize(t.dtype()), t.dtype(), {count},
                t.device());
}

// Host and device results are byte-identical.
void ExpectSameBytes(const Twin& t, const std::string& name) {
  const Buffer got = ToHost(t.dev);
  const size_t size = DTypeSize(got.dtype());
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < got.nbytes(); i += size) {
    if (std::memcmp(static_cast<const char*>(got.data()) + i,
                    static_cast<const char*>(t.host.data()) + i, size) != 0) {
      if (first < 0) first = static_cast<int64_t>(i / size);
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << got.numel()
                    << " elements differ from the CPU, first at " << first;
}

// Random floats over many magnitudes with the special values and rounding ties sprinkled in.
Buffer TrickyFloats(int64_t n, Rng& rng) {
  const float specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            FromBits(0x7F800001u),  // signalling NaN, payload in the low half
                            FromBits(0xFFC12345u),
                            std::numeric_limits<float>::max(),
                            FromBits(0x7F7F7FFFu),
                            std::numeric_limits<float>::denorm_min(),
                            FromBits(0x00018000u),
                            FromBits(0x3F808000u),  // ties
                            FromBits(0x3F818000u),
                            FromBits(0xBF818000u),
                            FromBits(0x3FFF8000u)};
  constexpr int64_t kSpecials = sizeof(specials) / sizeof(specials[0]);
  Buffer b = Buffer::Zeros({n});
  for (int64_t i = 0; i < n; ++i) {
    if (i % 5 == 0) {
      b.f32()[i] = specials[(i / 5) % kSpecials];
    } else if (i % 5 == 1) {
      b.f32()[i] = FromBits(static_cast<uint32_t>(rng.NextU64()));  // any bit pattern
    } else {
      b.f32()[i] = static_cast<float>(rng.Normal() * 100.0);
    }
  }
  return b;
}

TEST(CudaCastTest, FloatToBF16IsBitIdenticalToCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(6001);
  // Vector body only, body + tail, tail only, and enough for a grid-stride loop.
  for (int64_t n : {int64_t{64}, int64_t{1003}, int64_t{5}, int64_t{(1 << 24) + 3}}) {
    auto in = Same(TrickyFloats(n, rng));
    auto out = Poisoned(DType::kBF16, {n});
    ops::Cast(Cpu(), out.h(), in.h());
    ops::Cast(Gpu(), out.d(), in.d());
    ExpectSameBytes(out, "f32 -> bf16, n " + std::to_string(n));
    // The CPU twin itself is the scalar rounding.
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
      bad += out.host.tensor().bf16()[i] != FloatToBF16(in.host.f32()[i]);
    EXPECT_EQ(bad, 0) << "n " << n;
  }
}

TEST(CudaCastTest, MisalignedViewsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(6002);
  const int64_t n = 4099;
  auto in = Same(TrickyFloats(n + 3, rng));
  auto half = Poisoned(DType::kBF16, {n + 3});
  auto back = Poisoned(DType::kF32, {n + 3});
  // in from element 1 (4-byte aligned), bf16 out from element 3 (2-byte aligned).
  ops::Cast(Cpu(), ViewAt(half.h(), 3, n), ViewAt(in.h(), 1, n));
  ops::Cast(Gpu(), ViewAt(half.d(), 3, n), ViewAt(in.d(), 1, n));
  ExpectSameBytes(half, "misaligned f32 -> bf16");
  ops::Cast(Cpu(), ViewAt(back.h(), 2, n), ViewAt(half.h(), 3, n));
  ops::Cast(Gpu(), ViewAt(back.d(), 2, n), ViewAt(half.d(), 3, n));
  ExpectSameBytes(back, "misaligned bf16 -> f32");
}

TEST(CudaCastTest, EveryBF16WidensExactly) {
  TIGERFG_REQUIRE_GPU();
  const int64_t n = 1 << 16;
  Buffer patterns(DType::kBF16, {n});
  for (int64_t i = 0; i < n; ++i) patterns.tensor().bf16()[i] = static_cast<uint16_t>(i);
  auto in = Same(patterns);
  auto out = Poisoned(DType::kF32, {n});
  ops::Cast(Cpu(), out.h(), in.h());
  ops::Cast(Gpu(), out.d(), in.d());
  ExpectSameBytes(out, "bf16 -> f32");
  // And the tail path: an odd length.
  auto odd = Poisoned(DType::kF32, {n - 3});
  ops::Cast(Cpu(), odd.h(), ViewAt(in.h(), 0, n - 3));
  ops::Cast(Gpu(), odd.d(), ViewAt(in.d(), 0, n - 3));
  ExpectSameBytes(odd, "bf16 -> f32, odd length");
}

TEST(CudaCastTest, SameDTypeCopies) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(6003);
  const int64_t n = 3001;
  auto in = Same(TrickyFloats(n, rng));
  auto copy = Poisoned(DType::kF32, {n});
  ops::Cast(Cpu(), copy.h(), in.h());
  ops::Cast(Gpu(), copy.d(), in.d());
  ExpectSameBytes(copy, "f32 copy");
  auto half = Poisoned(DType::kBF16, {n});
  auto half_copy = Poisoned(DType::kBF16, {n});
  ops::Cast(Cpu(), half.h(), in.h());
  ops::Cast(Gpu(), half.d(), in.d());
  ops::Cast(Cpu(), half_copy.h(), half.h());
  ops::Cast(Gpu(), half_copy.d(), half.d());
  ExpectSameBytes(half_copy, "bf16 copy");
}

}  // namespace
}  // namespace tigerfg
