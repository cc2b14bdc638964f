// tests/train/packed_status_test.cc — the step's packed status (runtime/train/step_runner.h): a
// step launched and read later gives the results of a step read at once, the caller's counts
// travel with it, and a diverged step never reaches the weights and is reported when it is read.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "ops/optim.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/step_runner.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::train {
namespace {

constexpr int64_t kBatch = 4;
constexpr int kSteps = 3;

config::OptimConfig Optim() {
  config::OptimConfig optim;
  optim.set_lr(1e-3f);
  optim.set_clip_grad_norm(0.5f);  // small enough that some steps clip
  return optim;
}

// One model, its optimizer and runner (comm: the local communicator, or none).
struct Trained {
  config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  model::TigerFGModel model{cfg, kBatch, Context::Cpu()};
  AdamW optimizer{model.table(), Optim(), kSteps, Context::Cpu()};
  explicit Trained(comm::Communicator* comm) : runner(model, comm, &optimizer) {
    model::InitParams(model.table(), cfg, /*seed=*/7, model.params());
  }
  std::vector<float> Params() {
    return {model.params(), model.params() + model.table().total_numel()};
  }
  StepRunner runner;
};

void ExpectSameResult(const StepResult& got, const StepResult& want, int step) {
  EXPECT_EQ(got.local.total, want.local.total) << "step " << step;
  EXPECT_EQ(got.global.total, want.global.total) << "step " << step;
  EXPECT_EQ(got.global.contrastive, want.global.contrastive) << "step " << step;
  EXPECT_EQ(got.global.srd, want.global.srd) << "step " << step;
  EXPECT_EQ(got.global.sdd, want.global.sdd) << "step " << step;
  EXPECT_EQ(got.optim.lr, want.optim.lr) << "step " << step;
  EXPECT_EQ(got.optim.grad_norm, want.optim.grad_norm) << "step " << step;
  EXPECT_EQ(got.optim.clipped, want.optim.clipped) << "step " << step;
}

// Launch now, Collect later: the same terms, norm and weights as Run, and the norm is the one of
// the gradients the step left (what the optimizer used to read back at once).
TEST(PackedStatus, ALateReadGivesTheResultsOfAnImmediateOne) {
  for (bool with_comm : {true, false}) {
    comm::LocalCommunicator local_a, local_b;
    Trained immediate(with_comm ? &local_a : nullptr), late(with_comm ? &local_b : nullptr);
    bool clipped = false;
    for (int step = 0; step < kSteps; ++step) {
      const Batch batch = testing::RandomBatch(immediate.cfg, kBatch, /*seed=*/10 + step);
      StatusOr<StepResult> want = immediate.runner.Run(batch, step);
      ASSERT_TRUE(want.ok()) << want.status().message();
      late.runner.Launch(batch, step);
      ASSERT_TRUE(late.runner.pending());
      const int64_t n = late.model.table().trainable_numel();
      const double sumsq =
          ops::SumOfSquares(Context::Cpu(), Tensor::F32(late.model.grads(), Shape{n}));
      StatusOr<StepResult> got = late.runner.Collect();
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_FALSE(late.runner.pending());
      ExpectSameResult(*got, *want, step);
      EXPECT_EQ(got->optim.grad_norm, std::sqrt(sumsq));
      EXPECT_EQ(got->failed_ranks, 0);
      // The global terms travel as fp32 through the communicator; without one they are local.
      EXPECT_EQ(got->global.total,
                with_comm ? static_cast<float>(got->local.total) : got->local.total);
      clipped = clipped || got->optim.clipped;
      ASSERT_EQ(late.Params(), immediate.Params()) << "step " << step;
    }
    EXPECT_TRUE(clipped) << "no step clipped: the test does not cover the device-side clip";
  }
}

TEST(PackedStatus, TheCallersCountsTravelWithTheStep) {
  comm::LocalCommunicator local;
  Trained t(&local);
  t.runner.Launch(testing::RandomBatch(t.cfg, kBatch, 3), 0, Tensor(),
                  {.stop = 1, .bad = 2, .seen = 37});
  StatusOr<StepResult> got = t.runner.Collect();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->counts.stop, 1);
  EXPECT_EQ(got->counts.bad, 2);
  EXPECT_EQ(got->counts.seen, 37);
}

// A NaN weight makes the loss NaN: the update is skipped on the device (the weights and moments
// stay those before the step) and the step is named when its status is read.
TEST(PackedStatus, ADivergedStepIsSkippedOnTheDeviceAndReportedWhenRead) {
  for (bool with_comm : {true, false}) {
    comm::LocalCommunicator local;
    Trained t(with_comm ? &local : nullptr);
    const ParamTable& table = t.model.table();
    t.model.params()[table.params()[1].offset] = std::nanf("");
    const std::vector<float> before = t.Params();
    t.runner.Launch(testing::RandomBatch(t.cfg, kBatch, 3), /*step=*/5);
    StatusOr<StepResult> got = t.runner.Collect();
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("step 5: loss is not finite"), std::string::npos)
        << got.status().message();
    const std::vector<float> after = t.Params();
    ASSERT_EQ(std::memcmp(after.data(), before.data(), after.size() * sizeof(float)), 0)
        << "the diverged step changed the weights";
    const int64_t n = table.trainable_numel();
    const Buffer m = ToHost(Context::Cpu(), t.optimizer.m());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(m.f32()[i], 0.0f) << "moment " << i;
  }
}

}  // namespace
}  // namespace tigerfg::train
