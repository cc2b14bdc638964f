// tests/cuda/step_waits_test.cc — the host waits of one training step on CUDA (issue #10: a step
// without host waits), counted by HostWaits (runtime/core/buffer.h): the step's results are read
// once, after it, from its packed status; the waits left inside the step are listed below.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/core/buffer.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/step_runner.h"
#include "tests/cuda/parity.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::train {
namespace {

// What Launch still waits for on the host (tiny: teacher, SRD and SDD): the model's four pageable
// input copies (query and item images, title ids, key mask) and the product ids' copy, the
// upload of the step's counts into the packed status and the step timer's end-of-step wait. The
// loss's four scalar reads (its terms are combined into the packed status on the device), the
// packed all-reduce's read, the gradient norm's read and the trainer's separate step-end
// collective are gone from the step.
constexpr int64_t kMaxLaunchWaits = 7;

TEST(CudaStepWaits, TheStepReadsItsResultsOnceAfterwards) {
  TIGERFG_REQUIRE_GPU();
  const Context& ctx = cuda_testing::Gpu();
  const config::ModelConfig cfg = testing::TinyModel();
  constexpr int64_t kBatch = 8;
  model::TigerFGModel model(cfg, kBatch, ctx);
  std::vector<float> init(model.table().total_numel());
  model::InitParams(model.table(), cfg, /*seed=*/5, init.data());
  model.CopyParamsFromHost(init.data());
  config::OptimConfig optim;
  optim.set_lr(1e-3f);
  optim.set_clip_grad_norm(1.0f);
  AdamW optimizer(model.table(), optim, /*total_steps=*/4, ctx);
  comm::LocalCommunicator comm(/*timeout_s=*/300, &ctx);
  StepRunner runner(model, &comm, &optimizer);
  const Batch batch = testing::RandomBatch(cfg, kBatch, /*seed=*/3);
  ASSERT_TRUE(runner.Run(batch, 0).ok());  // warm-up: plans, workspaces
  const int64_t before = HostWaits();
  runner.Launch(batch, 1);
  const int64_t launched = HostWaits();
  StatusOr<StepResult> result = runner.Collect();
  const int64_t collected = HostWaits();
  ASSERT_TRUE(result.ok()) << result.status().message();
  std::printf("host waits: %lld in the step, %lld reading it\n",
              static_cast<long long>(launched - before),
              static_cast<long long>(collected - launched));
  EXPECT_LE(launched - before, kMaxLaunchWaits);
  EXPECT_EQ(collected - launched, 1) << "the packed status is read in one copy";
  EXPECT_TRUE(std::isfinite(result->global.total));
  EXPECT_GT(result->optim.grad_norm, 0);
}

}  // namespace
}  // namespace tigerfg::train
