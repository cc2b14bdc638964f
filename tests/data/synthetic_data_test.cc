// tests/data/synthetic_data_test.cc — the synthetic source is a pure function of (seed, sample).
#include "runtime/data/synthetic_data.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "runtime/data/batch_source.h"

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

// A batch stays alive and unchanged through the next Next (the trainer stages it a step ahead).
TEST(SyntheticSource, BatchSourceKeepsTheLastBatchThroughTheNext) {
  config::RunConfig cfg;
  *cfg.mutable_model() = TinyModel();
  cfg.mutable_data()->set_synthetic_products(3);
  cfg.mutable_train()->set_global_batch(4);
  StatusOr<std::unique_ptr<BatchSource>> source = CreateBatchSource(cfg, 0, 1, 0);
  ASSERT_TRUE(source.ok()) << source.status().message();
  StatusOr<Batch*> first = (*source)->Next();
  ASSERT_TRUE(first.ok());
  const Batch* a = *first;
  const std::vector<float> images(a->query_images.f32(),
                                  a->query_images.f32() + a->query_images.numel());
  const int64_t first_sample = a->first_sample;
  StatusOr<Batch*> second = (*source)->Next();
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, a);
  EXPECT_NE((*second)->query_images.data(), a->query_images.data());
  EXPECT_EQ(a->first_sample, first_sample);
  EXPECT_EQ(0, std::memcmp(a->query_images.f32(), images.data(), images.size() * sizeof(float)));
  EXPECT_NE(
      0, std::memcmp((*second)->query_images.f32(), images.data(), images.size() * sizeof(float)));
}

}  // namespace
}  // namespace tigerfg::train
