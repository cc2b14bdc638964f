// tests/model/model_gradient_test.cc — the whole model's analytic gradients (one step) against
// central differences of its total loss, with and without the teacher and the grounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/core/rng.h"
#include "runtime/train/step_runner.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::model {
namespace {

void CheckModelGradients(const config::ModelConfig& cfg, const std::vector<std::string>& names) {
  constexpr int64_t kBatch = 4;
  TigerFGModel model(cfg, kBatch, Context::Cpu());
  InitParams(model.table(), cfg, /*seed=*/11, model.params());
  const Batch batch = testing::RandomBatch(cfg, kBatch, /*seed=*/5);
  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  const LossTerms terms = runner.Run(batch)->local;
  ASSERT_TRUE(std::isfinite(terms.total));
  EXPECT_EQ(terms.has_sdd, cfg.has_teacher());
  EXPECT_EQ(terms.has_srd, cfg.has_teacher() && cfg.ground_layers() > 0);
  EXPECT_NEAR(terms.total, terms.contrastive + terms.srd + terms.sdd, 1e-6 * terms.total);
  const std::vector<float> analytic(model.grads(), model.grads() + model.table().trainable_numel());

  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const ParamSpec& spec = model.table().Get(name);
    // Scale the loss so this tensor's largest gradient is 1: the checker's tolerance, relative to
    // max(|g|, 1), then means relative to the tensor's gradient scale.
    float max_abs = 0;
    for (int64_t i = 0; i < spec.numel(); ++i) {
      max_abs = std::max(max_abs, std::fabs(analytic[spec.offset + i]));
    }
    ASSERT_GT(max_abs, 0.0f) << "no gradient reaches " << name;
    const double k = 1.0 / max_abs;
    Buffer scaled(DType::kF32, spec.shape);
    for (int64_t i = 0; i < spec.numel(); ++i) {
      scaled.f32()[i] = static_cast<float>(k * analytic[spec.offset + i]);
    }
    auto loss = [&] { return k * runner.Run(batch)->local.total; };
    testing::ExpectGradientsMatch(loss, {model.table().View(model.params(), name)}, {scaled},
                                  /*step=*/1e-2, /*tolerance=*/2e-2, /*max_per_input=*/10);
  }
}

const std::vector<std::string> kCommon = {"logit_scale",
                                          "text.token_embed.weight",
                                          "text.blocks.0.attn.qkv.weight",
                                          "query.pos_embed",
                                          "query.blocks.0.mlp.fc1.weight",
                                          "item_vision.patch_embed.weight",
                                          "item_proj.weight",
                                          "query_proj.weight"};

TEST(ModelGradient, WithTeacherMatchesCentralDifferences) {
  auto names = kCommon;
  names.insert(names.end(), {"ground.layers.0.q.weight", "ground.layers.1.kv.weight",
                             "ground.text_proj.bias", "item_vision.blocks.0.ln1.weight"});
  CheckModelGradients(testing::TinyModel(testing::kMiniOverrides), names);
}

TEST(ModelGradient, WithoutTeacherMatchesCentralDifferences) {
  auto names = kCommon;
  names.insert(names.end(), {"ground.layers.0.q.weight", "ground.ln_out.weight"});
  CheckModelGradients(
      testing::TinyModel(std::string(testing::kMiniOverrides) + ",model.teacher=none"), names);
}

TEST(ModelGradient, BaselineWithoutGroundingMatchesCentralDifferences) {
  auto names = kCommon;
  names.push_back("item_vision.cls_token");
  CheckModelGradients(
      testing::TinyModel(std::string(testing::kMiniOverrides) + ",model.ground_layers=0"), names);
}

TEST(ModelGradient, ZeroWeightTermIsAbsent) {
  const auto cfg = testing::TinyModel(std::string(testing::kMiniOverrides) + ",model.w_srd=0");
  TigerFGModel model(cfg, 4, Context::Cpu());
  InitParams(model.table(), cfg, 3, model.params());
  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  const LossTerms terms = runner.Run(testing::RandomBatch(cfg, 4, 9))->local;
  EXPECT_FALSE(terms.has_srd);
  EXPECT_TRUE(terms.has_sdd);
  EXPECT_EQ(terms.srd, 0.0);
}

TEST(ValidateBatch, NamesTheTensorThatIsWrong) {
  const auto cfg = testing::TinyModel(testing::kMiniOverrides);
  EXPECT_TRUE(ValidateBatch(cfg, testing::RandomBatch(cfg, 3, 1)).ok());
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.item_images = Buffer(DType::kF32, Shape{3, 3, 8, 8});
    const Status s = ValidateBatch(cfg, b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("item_images"), std::string::npos) << s.message();
  }
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.title_ids.i64()[7] = cfg.text().vocab_size();
    const Status s = ValidateBatch(cfg, b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("title_ids[1, 2]"), std::string::npos) << s.message();
  }
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.title_ids.i64()[0] = -1;
    EXPECT_FALSE(ValidateBatch(cfg, b).ok());
  }
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.product_ids = Buffer();
    const Status s = ValidateBatch(cfg, b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("product_ids"), std::string::npos) << s.message();
  }
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.title_ids = Buffer(DType::kI32, Shape{3, cfg.text().max_len()});
    const Status s = ValidateBatch(cfg, b);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("title_ids"), std::string::npos) << s.message();
  }
  {
    Batch b = testing::RandomBatch(cfg, 3, 1);
    b.query_images = Buffer(DType::kF32, Shape{2, 3, 16, 16});
    EXPECT_FALSE(ValidateBatch(cfg, b).ok());
  }
}

}  // namespace
}  // namespace tigerfg::model
