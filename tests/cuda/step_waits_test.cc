// tests/cuda/step_waits_test.cc — the host waits of one training step on CUDA (issue #10: a step
// without host waits), counted by HostWaits (runtime/core/buffer.h): the step's results are read
// once, after it, from its packed status; a U8 batch staged ahead is launched without any wait.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/core/buffer.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/step_runner.h"
#include "tests/cuda/parity.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/uint8_batches.h"

namespace tigerfg::train {
namespace {

// What Launch still waits for with an F32 batch: the model's four pageable input copies (query and
// item images, title ids, key mask) and the product ids' copy. The loss's scalar reads, the packed
// all-reduce's read, the gradient norm's read, the counts' upload, the step timer's end-of-step
// wait and the trainer's separate step-end collective are gone from the step; Collect waits once,
// for the step's last mark.
constexpr int64_t kMaxF32LaunchWaits = 5;

struct Waits {
  int64_t launch = 0, collect = 0;
};

// A model, optimizer and runner on the GPU (local communicator: the trainer's step).
class StepWaits : public ::testing::Test {
 protected:
  static constexpr int64_t kBatch = 8;
  void SetUp() override {
    TIGERFG_REQUIRE_GPU();
    ctx_ = &cuda_testing::Gpu();
    model_ = std::make_unique<model::TigerFGModel>(cfg_, kBatch, *ctx_);
    std::vector<float> init(model_->table().total_numel());
    model::InitParams(model_->table(), cfg_, /*seed=*/5, init.data());
    model_->CopyParamsFromHost(init.data());
    config::OptimConfig optim;
    optim.set_lr(1e-3f);
    optim.set_clip_grad_norm(1.0f);
    optimizer_ = std::make_unique<AdamW>(model_->table(), optim, /*total_steps=*/4, *ctx_);
    comm_ = std::make_unique<comm::LocalCommunicator>(/*timeout_s=*/300, ctx_);
    runner_ = std::make_unique<StepRunner>(*model_, comm_.get(), optimizer_.get());
  }

  // Step `step` on `batch` (its inputs staged ahead first when `ahead`), its waits counted.
  Waits Step(const Batch& batch, int64_t step, bool ahead) {
    runner_->BeginStep(step);
    if (ahead) model_->StageInputs(batch);
    const int64_t before = HostWaits();
    runner_->Launch(batch, step);
    const int64_t launched = HostWaits();
    StatusOr<StepResult> result = runner_->Collect();
    const Waits waits{launched - before, HostWaits() - launched};
    EXPECT_TRUE(result.ok()) << result.status().message();
    if (result.ok()) {
      EXPECT_TRUE(std::isfinite(result->global.total));
      EXPECT_GT(result->optim.grad_norm, 0);
    }
    std::printf("host waits: %lld in the step, %lld reading it\n",
                static_cast<long long>(waits.launch), static_cast<long long>(waits.collect));
    return waits;
  }

  const config::ModelConfig cfg_ = testing::TinyModel();
  const Context* ctx_ = nullptr;
  std::unique_ptr<model::TigerFGModel> model_;
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<comm::LocalCommunicator> comm_;
  std::unique_ptr<StepRunner> runner_;
};

TEST_F(StepWaits, AFloatBatchWaitsOnlyForItsPageableCopies) {
  const Batch batch = testing::RandomBatch(cfg_, kBatch, /*seed=*/3);
  Step(batch, 0, /*ahead=*/false);  // warm-up: plans, workspaces
  const Waits waits = Step(batch, 1, /*ahead=*/false);
  EXPECT_LE(waits.launch, kMaxF32LaunchWaits);
  EXPECT_EQ(waits.collect, 1) << "the step is read once, at its last mark";
}

// The trainer's path: U8 pixels staged on the input ring before the step, the product ids with
// them. The step is launched without a single host wait.
TEST_F(StepWaits, APixelBatchStagedAheadIsLaunchedWithoutHostWaits) {
  const Batch batch =
      testing::WithRandomPixels(testing::RandomBatch(cfg_, kBatch, /*seed=*/3), /*seed=*/4);
  Step(batch, 0, /*ahead=*/true);  // warm-up: plans, workspaces, the ring
  const Waits waits = Step(batch, 1, /*ahead=*/true);
  EXPECT_EQ(waits.launch, 0);
  EXPECT_EQ(waits.collect, 1);
}

}  // namespace
}  // namespace tigerfg::train
