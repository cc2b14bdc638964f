// tests/comm/packed_status_mpi.cc — the packed step status under mpirun at 1-4 ranks: the loss
// terms' mean, the callers' counts summed over ranks, and a loss that is not finite on one rank
// only stopping every rank, whose weights stay those before the step (runtime/train/step_runner.h).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "model/tigerfg_model.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/step_runner.h"
#include "tests/comm/comm_test_util.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::train {
namespace {

constexpr int64_t kLocal = 4;

struct Ranked {
  config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  std::unique_ptr<comm::Communicator> comm = comm::MakeComm("mpi");
  model::TigerFGModel model{cfg, kLocal, Context::Cpu(), comm->world_size()};
  AdamW optimizer{model.table(), Optim(), /*total_steps=*/4, Context::Cpu()};
  StepRunner runner{model, comm.get(), &optimizer};
  Ranked() { model::InitParams(model.table(), cfg, /*seed=*/9, model.params()); }
  static config::OptimConfig Optim() {
    config::OptimConfig optim;
    optim.set_lr(1e-3f);
    optim.set_clip_grad_norm(1.0f);
    return optim;
  }
  std::vector<float> Params() {
    return {model.params(), model.params() + model.table().total_numel()};
  }
  Batch LocalBatch() { return testing::RandomBatch(cfg, kLocal, 40 + comm->rank()); }
};

TEST(PackedStatus, CarriesTheMeanLossAndTheSummedCountsOfEveryRank) {
  Ranked r;
  const int rank = r.comm->rank(), world = r.comm->world_size();
  r.runner.Launch(r.LocalBatch(), /*step=*/0, Tensor(),
                  {.stop = rank == world - 1 ? 1 : 0, .bad = rank, .seen = 10});
  StatusOr<StepResult> got = r.runner.Collect();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->counts.stop, 1);
  EXPECT_EQ(got->counts.bad, world * (world - 1) / 2);
  EXPECT_EQ(got->counts.seen, 10 * world);
  EXPECT_EQ(got->failed_ranks, 0);
  double total = got->local.total, sum = 0;
  MPI_Allreduce(&total, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_NEAR(got->global.total, sum / world, 1e-5 * std::fabs(sum / world));
}

// The last rank's loss is NaN (a NaN weight there only): every rank reports the step and keeps
// its weights; none waits in a collective the others never join.
TEST(PackedStatus, ALossNotFiniteOnOneRankStopsEveryRankBeforeTheWeightsChange) {
  Ranked r;
  const int rank = r.comm->rank(), world = r.comm->world_size();
  if (rank == world - 1) r.model.params()[r.model.table().params()[1].offset] = std::nanf("");
  const std::vector<float> before = r.Params();
  r.runner.Launch(r.LocalBatch(), /*step=*/2);
  StatusOr<StepResult> got = r.runner.Collect();
  ASSERT_FALSE(got.ok()) << "rank " << rank;
  EXPECT_NE(got.status().message().find("step 2: loss is not finite"), std::string::npos)
      << got.status().message();
  const std::vector<float> after = r.Params();
  EXPECT_EQ(std::memcmp(after.data(), before.data(), after.size() * sizeof(float)), 0)
      << "rank " << rank << ": the failed step changed the weights";
}

}  // namespace
}  // namespace tigerfg::train
