// tests/data/synthetic_data_test.cc — the synthetic source is a pure function of (seed, sample).
#include "runtime/data/synthetic_data.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tigerfg::train {
namespace {

config::ModelConfig TinyModel() {
  config::ModelConfig m;
  m.mutable_query()->set_image_size(16);
  m.mutable_query()->set_patch_size(8);
  m.mutable_item()->set_image_size(16);
  m.mutable_item()->set_patch_size(8);
  m.mutable_text()->set_vocab_size(50);
  m.mutable_text()->set_max_len(6);
  return m;
}

TEST(SyntheticSource, SamplesDependOnlyOnSeedAndIndex) {
  config::DataConfig d;
  d.set_synthetic_products(3);
  SyntheticSource src(TinyModel(), d, 11);
  Batch whole = src.MakeBatch(6);
  src.Fill(whole, 100);
  Batch tail = src.MakeBatch(2);
  src.Fill(tail, 104);  // samples 104 and 105 again, in another batch
  const int64_t per_image = 3 * 16 * 16;
  EXPECT_EQ(0, std::memcmp(whole.query_images.f32() + 4 * per_image, tail.query_images.f32(),
                           2 * per_image * sizeof(float)));
  EXPECT_EQ(
      0, std::memcmp(whole.title_ids.i64() + 4 * 6, tail.title_ids.i64(), 2 * 6 * sizeof(int64_t)));
  for (int i = 0; i < 6; ++i) {
    EXPECT_GE(whole.product_ids.i64()[i], 0);
    EXPECT_LT(whole.product_ids.i64()[i], 3);
    EXPECT_EQ(whole.title_ids.i64()[i * 6], 1);  // [CLS]
    for (int j = 0; j < 6; ++j) EXPECT_LT(whole.title_ids.i64()[i * 6 + j], 50);
  }
  SyntheticSource other(TinyModel(), d, 12);
  Batch b = other.MakeBatch(6);
  other.Fill(b, 100);
  EXPECT_NE(0, std::memcmp(whole.query_images.f32(), b.query_images.f32(), per_image * 4));
}

TEST(SyntheticSource, WithoutProductCountEverySampleIsItsOwnProduct) {
  SyntheticSource src(TinyModel(), config::DataConfig(), 0);
  Batch b = src.MakeBatch(4);
  src.Fill(b, 10);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.product_ids.i64()[i], 10 + i);
}

}  // namespace
}  // namespace tigerfg::train
