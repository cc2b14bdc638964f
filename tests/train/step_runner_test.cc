// tests/train/step_runner_test.cc — the step runner with the local communicator equals the one
// without collectives (the gather is the identity), times collectives only when it has one, and
// the trainer calls the fault-injection hooks its options carry.
#include "runtime/train/step_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "comm/local_communicator.h"
#include "configs/config.h"
#include "model/tigerfg_model.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/trainer.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/shell.h"

namespace tigerfg::train {
namespace {

constexpr int64_t kBatch = 4;

struct Stepped {
  model::LossTerms local, global;
  std::vector<float> grads;
  std::set<std::string> spans;
  double exposed_comm_s = 0;
};

Stepped StepOnce(const config::ModelConfig& cfg, comm::Communicator* comm) {
  model::TigerFGModel model(cfg, kBatch, Context::Cpu());
  model::InitParams(model.table(), cfg, /*seed=*/7, model.params());
  StepRunner runner(model, comm);
  StatusOr<StepResult> result = runner.Run(testing::RandomBatch(cfg, kBatch, /*seed=*/8));
  CHECK(result.ok()) << result.status().message();
  Stepped s{result->local, result->global};
  s.grads.assign(model.grads(), model.grads() + model.table().trainable_numel());
  for (const profile::Span& span : result->profile->spans)
    if (span.track == profile::kCollectiveTrack) s.spans.insert(span.name);
  s.exposed_comm_s = result->profile->phase_s[static_cast<int>(profile::Phase::kExposedComm)];
  return s;
}

TEST(StepRunner, LocalCommunicatorStepEqualsTheStepWithoutCollectives) {
  const config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  comm::LocalCommunicator local;
  const Stepped with = StepOnce(cfg, &local);
  const Stepped without = StepOnce(cfg, nullptr);
  EXPECT_EQ(with.local.total, without.local.total);
  EXPECT_EQ(with.local.contrastive, without.local.contrastive);
  EXPECT_EQ(with.local.srd, without.local.srd);
  EXPECT_EQ(with.local.sdd, without.local.sdd);
  // The global terms travel as fp32.
  EXPECT_EQ(with.global.total, static_cast<float>(with.local.total));
  EXPECT_EQ(without.global.total, without.local.total);
  ASSERT_EQ(with.grads.size(), without.grads.size());
  for (size_t i = 0; i < with.grads.size(); ++i)
    ASSERT_EQ(with.grads[i], without.grads[i]) << "gradient element " << i;
  for (const char* name : {"all_gather query_emb", "all_gather item_emb", "all_gather product_ids",
                           "reduce_scatter d_query_emb", "reduce_scatter d_item_emb",
                           "all_reduce grad_bucket 0", "all_reduce loss_terms"})
    EXPECT_EQ(with.spans.count(name), 1u) << name;
  EXPECT_TRUE(without.spans.empty());
  EXPECT_EQ(without.exposed_comm_s, 0);
}

// BF16: the optimizer's update writes the bf16 mirror of what it changes, so the next forward
// skips the cast pass and still encodes with the updated weights: exactly as a model given those
// weights afresh (which casts them all).
TEST(StepRunner, Bf16UpdateKeepsTheMirrorCurrent) {
  const config::ModelConfig cfg = testing::TinyModel();
  model::TigerFGModel trained(cfg, kBatch, Context::Cpu(), 1, config::BF16);
  std::vector<float> init(trained.table().total_numel());
  model::InitParams(trained.table(), cfg, /*seed=*/7, init.data());
  trained.CopyParamsFromHost(init.data());
  config::OptimConfig optim;
  optim.set_lr(1e-2f);  // steps far above a bf16 ulp of the weights
  AdamW optimizer(trained.table(), optim, /*total_steps=*/4);
  StepRunner runner(trained, nullptr, &optimizer);
  ASSERT_TRUE(runner.Run(testing::RandomBatch(cfg, kBatch, /*seed=*/8), 0).ok());
  std::vector<float> updated(init.size());
  trained.CopyParamsToHost(updated.data());
  ASSERT_NE(updated, init);
  model::TigerFGModel fresh(cfg, kBatch, Context::Cpu(), 1, config::BF16);
  fresh.CopyParamsFromHost(updated.data());
  const Batch next = testing::RandomBatch(cfg, kBatch, /*seed=*/9);
  auto embeddings = [&next](model::TigerFGModel& model) {
    model.EncodeForward(next);
    const Tensor q = model.query_emb(), e = model.item_emb();
    std::vector<float> out(q.f32(), q.f32() + q.numel());
    out.insert(out.end(), e.f32(), e.f32() + e.numel());
    return out;
  };
  EXPECT_EQ(embeddings(trained), embeddings(fresh));
}

TEST(Train, CallsTheFaultInjectionHooks) {
  auto cfg = config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt",
                                "train.steps=3,train.checkpoint_every=2,train.threads=1");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const std::string dir = testing::TempDir("train_hooks");
  TrainOptions options;
  options.out_dir = dir;
  std::vector<int64_t> steps, saves;
  options.before_step = [&steps](int64_t step) { steps.push_back(step); };
  options.mid_checkpoint_write = [&saves](int64_t step) { saves.push_back(step); };
  comm::LocalCommunicator local;
  auto summary = Train(*cfg, options, &local, Context::Cpu());
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(saves, (std::vector<int64_t>{2, 3}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tigerfg::train
