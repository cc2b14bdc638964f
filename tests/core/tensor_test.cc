// tests/core/tensor_test.cc — shapes, views, slices, buffers and the counter-based RNG.
#include "runtime/core/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "runtime/core/param_table.h"
#include "runtime/core/rng.h"

namespace tigerfg {
namespace {

TEST(Shape, CountsAndPrints) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.ndim(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.ToString(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);  // a scalar
  EXPECT_NE(s, (Shape{2, 12}));
}

TEST(Shape, CheckedByteSizeRejectsOverflowInsteadOfWrapping) {
  int64_t bytes = -1;
  EXPECT_TRUE(CheckedByteSize({2, 3, 4}, 4, &bytes));
  EXPECT_EQ(bytes, 96);
  EXPECT_TRUE(CheckedByteSize({}, 8, &bytes));
  EXPECT_EQ(bytes, 8);
  EXPECT_TRUE(CheckedByteSize({int64_t{1} << 40, int64_t{1} << 40, 0}, 4, &bytes));
  EXPECT_EQ(bytes, 0);
  EXPECT_FALSE(CheckedByteSize({int64_t{1} << 32, int64_t{1} << 32}, 1, &bytes));
  EXPECT_FALSE(CheckedByteSize({int64_t{1} << 62}, 4, &bytes));
  EXPECT_FALSE(CheckedByteSize({-1, 4}, 4, &bytes));
}

TEST(ShapeDeathTest, OverflowingShapesAndBuffersDieWithAClearMessage) {
  EXPECT_DEATH(Shape({int64_t{1} << 32, int64_t{1} << 32}), "element count overflows");
  EXPECT_DEATH(Buffer(DType::kF32, Shape{int64_t{1} << 62}), "byte size overflows");
}

TEST(Tensor, ViewAndSliceShareMemory) {
  Buffer b(DType::kF32, Shape{4, 3});
  for (int i = 0; i < 12; ++i) b.f32()[i] = static_cast<float>(i);
  Tensor rows = b.tensor().Slice(1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
  EXPECT_EQ(rows.f32()[0], 3.0f);
  Tensor flat = rows.View(Shape{6});
  EXPECT_EQ(flat.f32()[5], 8.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
}

TEST(Rng, IsAPureFunctionOfSeedStreamAndCounter) {
  Rng a(7, 3), b(7, 3), c(7, 4);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.NextU64(), b.NextU64());
  Rng d(7, 3);
  EXPECT_NE(d.NextU64(), c.NextU64());
  Rng e(7, 3);
  e.set_counter(4);
  Rng f(7, 3);
  for (int i = 0; i < 4; ++i) f.NextU64();
  EXPECT_EQ(e.NextU64(), f.NextU64());
  double sum = 0, sum2 = 0;
  Rng g(1);
  for (int i = 0; i < 20000; ++i) {
    double x = g.Normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sum2 / 20000, 1.0, 0.05);
}

TEST(ParamTable, LaysOutTrainableFirstThenFrozen) {
  ParamTable t(/*alignment=*/1);  // packed, so that offsets are plain element counts
  t.Add("a.weight", Shape{3, 2}, true, true);
  t.Add("a.bias", Shape{3}, true, false);
  t.Add("teacher.w", Shape{4}, false, true);
  EXPECT_EQ(t.total_numel(), 13);
  EXPECT_EQ(t.trainable_numel(), 9);
  EXPECT_EQ(t.Get("teacher.w").offset, 9);
  EXPECT_EQ(t.Find("nope"), nullptr);
  EXPECT_DEATH(t.Add("late", Shape{1}, true, false), "after a frozen one");
}

// The default layout: every offset a multiple of 64 floats (256 bytes), the buffer sizes rounded
// up to it, trainable_numel() the offset of the first frozen tensor.
TEST(ParamTable, AlignsEveryOffsetTo256Bytes) {
  ParamTable t;
  EXPECT_EQ(t.alignment(), kParamAlignment);
  EXPECT_EQ(kParamAlignment * sizeof(float), 256u);
  t.Add("logit_scale", Shape{}, true, false);  // one float, as the model's first parameter
  t.Add("a.weight", Shape{3, 70}, true, true);
  t.Add("a.bias", Shape{3}, true, false);
  t.Add("teacher.w", Shape{64}, false, true);
  t.Add("teacher.b", Shape{5}, false, false);
  EXPECT_EQ(t.Get("logit_scale").offset, 0);
  EXPECT_EQ(t.Get("a.weight").offset, 64);
  EXPECT_EQ(t.Get("a.bias").offset, 64 + 256);  // 210 floats rounded up to 256
  EXPECT_EQ(t.trainable_numel(), 64 + 256 + 64);
  EXPECT_EQ(t.Get("teacher.w").offset, t.trainable_numel());
  EXPECT_EQ(t.Get("teacher.b").offset, t.trainable_numel() + 64);
  EXPECT_EQ(t.total_numel(), t.trainable_numel() + 128);
  for (const ParamSpec& p : t.params()) {
    EXPECT_EQ(p.offset * sizeof(float) % 256, 0u) << p.name;
    EXPECT_EQ(p.offset * sizeof(uint16_t) % 128, 0u) << p.name << " in the bf16 mirror";
  }
}

}  // namespace
}  // namespace tigerfg
