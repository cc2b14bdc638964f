// tests/model/uint8_input_test.cc — the uint8 input path (issue #10 item 3) on the CPU: the
// loader's U8 batch normalised by ops::NormalizeImages equals its F32 batch bit for bit (flips and
// mosaic included, images at the model's size), stays within half a grey level where the loader
// resizes, and a training step on a U8 batch gives the F32 batch's losses and gradients exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "ops/images.h"
#include "runtime/data/loader.h"
#include "runtime/train/step_runner.h"
#include "tests/data/test_data.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/uint8_batches.h"

namespace tigerfg {
namespace {

using data::testing::TempDir;

data::LoaderOptions Options(const TempDir& dir, int image_size) {
  data::testing::WriteSampleShard(dir / "a.tar", 0, 24);  // 8x8 images
  {
    std::ofstream vocab(dir / "vocab.txt");
    vocab << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n";
    for (int d = 0; d < 10; ++d) vocab << d << "\n##" << d << "\n";
  }
  data::LoaderOptions o;
  o.shards = {dir / "a.tar"};
  o.vocab = dir / "vocab.txt";
  o.transform.query_size = image_size;
  o.transform.item_size = image_size;
  o.transform.max_len = 5;
  o.transform.mean = {0.485f, 0.456f, 0.406f};
  o.transform.std = {0.229f, 0.224f, 0.225f};
  o.transform.hflip_prob = 0.5f;
  o.transform.mosaic_prob = 0.5f;
  o.seed = 5;
  o.global_batch = 6;
  o.threads = 0;
  return o;
}

// The first `steps` batches of a loader with and without uint8_images: (F32, U8 normalised).
std::vector<std::pair<Batch, Batch>> LoadBoth(data::LoaderOptions o, int steps) {
  o.uint8_images = false;
  auto floats = data::DataLoader::Create(o).value();
  o.uint8_images = true;
  auto pixels = data::DataLoader::Create(o).value();
  std::vector<std::pair<Batch, Batch>> out;
  for (int s = 0; s < steps; ++s) {
    Batch f = floats->NextBatch().value();
    Batch u = pixels->NextBatch().value();
    EXPECT_EQ(u.query_images.dtype(), DType::kU8);
    EXPECT_EQ(u.query_images.shape(), f.query_images.shape());
    EXPECT_EQ(u.first_sample, f.first_sample);
    for (int64_t i = 0; i < f.title_ids.numel(); ++i) {
      EXPECT_EQ(u.title_ids.i64()[i], f.title_ids.i64()[i]);
    }
    out.emplace_back(std::move(f), testing::Normalised(u));
  }
  return out;
}

TEST(Uint8Input, LoaderPixelsNormalisedEqualTheFloatBatchBitForBit) {
  TempDir dir;
  // 8x8 stored, 8x8 model: no resize, so 8 bits hold every value (flips and mosaic are exact).
  for (const auto& [f, u] : LoadBoth(Options(dir, 8), /*steps=*/4)) {
    for (auto [a, b] :
         {std::pair{&f.query_images, &u.query_images}, std::pair{&f.item_images, &u.item_images}}) {
      ASSERT_EQ(a->numel(), b->numel());
      for (int64_t i = 0; i < a->numel(); ++i) {
        ASSERT_EQ(a->f32()[i], b->f32()[i]) << "element " << i;
      }
    }
  }
}

TEST(Uint8Input, ResizedPixelsStayWithinHalfAGreyLevel) {
  TempDir dir;
  // 8x8 stored, 12x12 model: the resize's fractions round to 8 bits.
  const float std_min = 0.224f;
  for (const auto& [f, u] : LoadBoth(Options(dir, 12), /*steps=*/2)) {
    for (auto [a, b] :
         {std::pair{&f.query_images, &u.query_images}, std::pair{&f.item_images, &u.item_images}}) {
      for (int64_t i = 0; i < a->numel(); ++i) {
        ASSERT_LE(std::fabs(a->f32()[i] - b->f32()[i]), 0.5f / 255.0f / std_min + 1e-5f);
      }
    }
  }
}

struct StepOutcome {
  model::LossTerms terms;
  std::vector<float> grads;
};

StepOutcome Step(const config::ModelConfig& cfg, const Batch& batch, int64_t micro_batch) {
  model::TigerFGModel model(cfg, /*local_batch=*/4, Context::Cpu(), /*world_size=*/1, config::FP32,
                            /*recompute_blocks=*/false, std::nullopt, micro_batch);
  model::InitParams(model.table(), cfg, /*seed=*/3, model.params());
  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  StepOutcome r;
  r.terms = runner.Run(batch)->local;
  r.grads.assign(model.grads(), model.grads() + model.table().trainable_numel());
  return r;
}

TEST(Uint8Input, TrainingStepOnPixelsEqualsTheFloatStep) {
  const config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  const Batch pixels = testing::WithRandomPixels(testing::RandomBatch(cfg, 4, /*seed=*/8), 9);
  const Batch floats = testing::Normalised(pixels);
  for (int64_t micro_batch : {int64_t{0}, int64_t{2}}) {  // whole batch, chunks (GradCache)
    const StepOutcome a = Step(cfg, floats, micro_batch);
    const StepOutcome b = Step(cfg, pixels, micro_batch);
    EXPECT_EQ(b.terms.total, a.terms.total) << "micro_batch " << micro_batch;
    EXPECT_EQ(b.terms.contrastive, a.terms.contrastive);
    EXPECT_EQ(b.grads, a.grads) << "micro_batch " << micro_batch;
  }
}

TEST(Uint8Input, ABatchWithoutItsNormalisationIsRefused) {
  const config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  Batch pixels = testing::WithRandomPixels(testing::RandomBatch(cfg, 4, /*seed=*/8), 9);
  pixels.image_norm = ImageNorm();
  const Status s = model::ValidateBatch(cfg, pixels);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("image_norm"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tigerfg
