// tests/model/recompute_test.cc — activation recomputation per transformer block: the same losses
// and bit-identical gradients as keeping every block's activations, in FP32 and BF16, with a
// smaller activation arena; and the BF16 mode's arena against FP32's.
#include <gtest/gtest.h>

#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/train/step_runner.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::model {
namespace {

constexpr int64_t kBatch = 4;

struct StepResult {
  LossTerms terms;
  std::vector<float> grads;
  int64_t activation_bytes;
};

StepResult StepOnce(const config::ModelConfig& cfg, config::Precision precision, bool recompute) {
  TigerFGModel model(cfg, kBatch, Context::Cpu(), /*world_size=*/1, precision, recompute);
  InitParams(model.table(), cfg, /*seed=*/21, model.params());
  const Batch batch = testing::RandomBatch(cfg, kBatch, /*seed=*/22);
  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  StepResult r;
  r.terms = runner.Run(batch)->local;
  r.grads.assign(model.grads(), model.grads() + model.table().trainable_numel());
  r.activation_bytes = model.activation_bytes();
  return r;
}

class Recompute : public ::testing::TestWithParam<config::Precision> {};

TEST_P(Recompute, SameLossesAndGradientsWithLessActivationMemory) {
  // Depth 3 so that recomputation keeps one block's activations instead of three.
  const config::ModelConfig cfg =
      testing::TinyModel("model.query.depth=3,model.item.depth=3,model.text.depth=3");
  const StepResult kept = StepOnce(cfg, GetParam(), /*recompute=*/false);
  const StepResult redone = StepOnce(cfg, GetParam(), /*recompute=*/true);
  EXPECT_EQ(redone.terms.total, kept.terms.total);
  EXPECT_EQ(redone.terms.contrastive, kept.terms.contrastive);
  ASSERT_EQ(redone.grads.size(), kept.grads.size());
  double norm = 0;
  for (size_t i = 0; i < kept.grads.size(); ++i) {
    ASSERT_EQ(redone.grads[i], kept.grads[i]) << "gradient element " << i;
    norm += static_cast<double>(kept.grads[i]) * kept.grads[i];
  }
  EXPECT_GT(norm, 0);
  EXPECT_LT(redone.activation_bytes, kept.activation_bytes);
}

INSTANTIATE_TEST_SUITE_P(Precisions, Recompute, ::testing::Values(config::FP32, config::BF16));

TEST(Bf16Mode, KeepsFewerActivationBytesThanFp32) {
  // bf16 block activations and no [B, heads, S, S] probabilities.
  const config::ModelConfig cfg = testing::TinyModel();
  EXPECT_LT(StepOnce(cfg, config::BF16, false).activation_bytes,
            StepOnce(cfg, config::FP32, false).activation_bytes);
}

TEST(ResolvePrecision, DefaultIsFp32AndBf16IsKeptOnTheCpu) {
  const config::ModelConfig cfg = testing::TinyModel();
  auto resolved = ResolvePrecision(cfg, config::PRECISION_DEFAULT, Context::Cpu());
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, config::FP32);
  resolved = ResolvePrecision(cfg, config::BF16, Context::Cpu());
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, config::BF16);
}

}  // namespace
}  // namespace tigerfg::model
