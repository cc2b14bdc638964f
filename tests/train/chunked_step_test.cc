// tests/train/chunked_step_test.cc — train.micro_batch (chunked GradCache steps) on one process:
// bad values refused by name, activation memory that follows micro_batch rather than the local
// batch, and training runs (through a checkpoint and a resume) with the same loss curve and final
// parameters as the unchunked run. The 1-4 rank gradient checks: tests/comm/chunked_step_mpi.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/local_communicator.h"
#include "configs/config.h"
#include "model/tigerfg_model.h"
#include "runtime/core/safetensors.h"
#include "runtime/train/memory_budget.h"
#include "runtime/train/step_runner.h"
#include "runtime/train/trainer.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/shell.h"

namespace tigerfg::train {
namespace {

const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

TEST(MicroBatch, ThatDoesNotDivideTheBatchIsRefusedByName) {
  for (const char* overrides :
       {"train.micro_batch=3", "train.micro_batch=16", "train.micro_batch=-2"}) {
    auto cfg = config::LoadConfig(kTiny, std::string("train.global_batch=8,") + overrides);
    ASSERT_FALSE(cfg.ok()) << overrides;
    EXPECT_NE(cfg.status().message().find("train.micro_batch"), std::string::npos)
        << cfg.status().message();
  }
  // The local batch is known once the world size is: 8 samples on 2 ranks, 4 per rank.
  const Status refused = CheckMicroBatch(/*micro_batch=*/8, /*local_batch=*/4, /*world_size=*/2);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("train.micro_batch: 8 does not divide the local batch 4"),
            std::string::npos)
      << refused.message();
  EXPECT_TRUE(CheckMicroBatch(0, 4, 2).ok());
  EXPECT_TRUE(CheckMicroBatch(2, 4, 2).ok());
  EXPECT_TRUE(CheckMicroBatch(4, 4, 2).ok());
  auto cfg = config::LoadConfig(kTiny, "train.global_batch=8,train.micro_batch=2");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->train().micro_batch(), 2);
}

// Bytes of an arena slot of n floats (64-byte aligned, runtime/core/arena.cc).
int64_t Slot(int64_t floats) { return (floats * 4 + 63) / 64 * 64; }

TEST(MicroBatch, ActivationMemoryFollowsTheMicroBatchNotTheLocalBatch) {
  const config::ModelConfig cfg = testing::TinyModel();
  auto bytes = [&cfg](int64_t local, int64_t micro) {
    return model::TigerFGModel(cfg, local, Context::Cpu(), /*world_size=*/1, config::FP32,
                               /*recompute_blocks=*/false, std::nullopt, micro)
        .activation_bytes();
  };
  const int64_t unchunked = bytes(16, 0);
  EXPECT_EQ(bytes(16, 16), unchunked);
  EXPECT_LT(bytes(16, 4), unchunked / 3);
  EXPECT_LT(bytes(16, 2), bytes(16, 4));
  // At a fixed micro batch only the loss rows grow with the local batch b: the [b, G] logits, their
  // gradients and the teacher's distribution (5 tensors, G = b on one rank); the towers do not.
  for (int64_t micro : {1, 2, 4}) {
    EXPECT_EQ(bytes(16, micro) - bytes(4, micro), 5 * (Slot(16 * 16) - Slot(4 * 4)))
        << "micro_batch " << micro;
  }
  // The planner without allocation agrees with the models it describes.
  const model::TigerFGModel model(cfg, 4, Context::Cpu());
  EXPECT_EQ(model.PlannedActivationBytes(16, 1, 2), bytes(16, 2));
  EXPECT_EQ(model.PlannedActivationBytes(16, 1, 0), unchunked);
  EXPECT_EQ(model.PlannedActivationBytes(4, 1, 0), model.activation_bytes());
}

// The budget search: its answer fits and the next batch does not; chunking fits a larger batch.
TEST(MicroBatch, LargestBatchThatFitsABudget) {
  const config::ModelConfig cfg = testing::TinyModel();
  const model::TigerFGModel model(cfg, 2, Context::Cpu());
  const StepMemory at8 = StepMemoryBytes(model, 8, 1, 0);
  EXPECT_EQ(at8.activation_bytes, model.PlannedActivationBytes(8, 1, 0));
  EXPECT_EQ(at8.state_bytes,
            16 * model.table().trainable_numel() +
                4 * (model.table().total_numel() - model.table().trainable_numel()));
  const double budget = static_cast<double>(StepMemoryBytes(model, 64, 1, 0).total()) + 1;
  const int64_t unchunked = LargestBatchThatFits(model, budget, 1, 0);
  EXPECT_GE(unchunked, 64);
  EXPECT_LE(StepMemoryBytes(model, unchunked, 1, 0).total(), budget);
  EXPECT_GT(StepMemoryBytes(model, unchunked + 1, 1, 0).total(), budget);
  for (int64_t micro : {1, 4}) {
    const int64_t chunked = LargestBatchThatFits(model, budget, 1, micro);
    EXPECT_EQ(chunked % micro, 0);
    EXPECT_GT(chunked, 2 * unchunked) << "micro_batch " << micro;
    EXPECT_LE(StepMemoryBytes(model, chunked, 1, micro).total(), budget);
    EXPECT_GT(StepMemoryBytes(model, chunked + micro, 1, micro).total(), budget);
  }
  EXPECT_EQ(LargestBatchThatFits(model, /*budget_bytes=*/1000, 1, 0), 0);
}

std::vector<double> Losses(const std::string& path) {
  std::vector<double> losses;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) losses.push_back(nlohmann::json::parse(line)["loss"]);
  return losses;
}

// `tigerfg train` in-process on tiny (teacher and grounding: all three loss terms) for 4 steps.
StatusOr<TrainSummary> TrainTiny(const std::string& out_dir, const std::string& micro_batch,
                                 const std::function<bool()>& stop = {}) {
  auto cfg = config::LoadConfig(kTiny,
                                "train.global_batch=8,train.steps=4,train.threads=1,"
                                "train.checkpoint_every=2,train.micro_batch=" +
                                    micro_batch);
  if (!cfg.ok()) return cfg.status();
  TrainOptions options;
  options.out_dir = out_dir;
  options.resume_auto = true;
  options.stop_requested = stop;
  comm::LocalCommunicator local;
  return Train(*cfg, options, &local, Context::Cpu());
}

TEST(MicroBatch, TrainingAndResumingGiveTheUnchunkedLossCurve) {
  const std::string root = testing::TempDir("micro_batch_train");
  ASSERT_TRUE(TrainTiny(root + "/whole", "0").ok());
  // Chunks of 2 stopped after step 2 (a checkpoint), resumed with chunks of 1.
  int steps = 0;
  auto first = TrainTiny(root + "/chunked", "2", [&steps] { return ++steps == 2; });
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->stopped);
  auto second = TrainTiny(root + "/chunked", "1");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->start_step, 2);

  const std::vector<double> want = Losses(root + "/whole/metrics.jsonl");
  const std::vector<double> got = Losses(root + "/chunked/metrics.jsonl");
  ASSERT_EQ(want.size(), 4u);
  ASSERT_EQ(got.size(), 4u);
  for (size_t s = 0; s < want.size(); ++s)
    EXPECT_NEAR(got[s], want[s], 1e-5 * std::fabs(want[s])) << "step " << s;
  auto a = ReadSafetensors(root + "/whole/final.safetensors");
  auto b = ReadSafetensors(root + "/chunked/final.safetensors");
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto& [name, ref] : a->tensors) {
    const Buffer& other = b->tensors.at(name);
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      diff += std::pow(double(other.f32()[i]) - ref.f32()[i], 2);
      norm += std::pow(double(ref.f32()[i]), 2);
    }
    EXPECT_LE(std::sqrt(diff), 1e-5 * std::sqrt(norm) + 1e-12) << name;
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tigerfg::train
