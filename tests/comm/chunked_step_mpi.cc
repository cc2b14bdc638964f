// tests/comm/chunked_step_mpi.cc — chunked (GradCache, train.micro_batch) training steps against
// the unchunked step under mpirun at 1-4 ranks, with and without block recomputation: every
// parameter's gradient (logit_scale and the teacher-path SRD and SDD terms included) and every
// loss term within 1e-5 relative.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "model/tigerfg_model.h"
#include "runtime/train/step_runner.h"
#include "tests/comm/comm_test_util.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::train {
namespace {

constexpr int64_t kLocal = 6;

struct Stepped {
  model::LossTerms local, global;
  std::vector<float> grads;
};

// One step of this rank's share of one global batch (the same at every world size).
Stepped Step(const config::ModelConfig& cfg, comm::Communicator& comm, int64_t micro_batch,
             bool recompute_blocks = false) {
  const int world = comm.world_size();
  model::TigerFGModel model(cfg, kLocal, Context::Cpu(), world, config::FP32, recompute_blocks,
                            std::nullopt, micro_batch);
  EXPECT_EQ(model.micro_batch(), micro_batch > 0 ? micro_batch : kLocal);
  model::InitParams(model.table(), cfg, /*seed=*/9, model.params());
  const Batch global = testing::RandomBatch(cfg, kLocal * world, /*seed=*/31);
  const Batch local = testing::BatchRows(global, comm.rank() * kLocal, kLocal);
  // Small buckets: several of them, all launched from the final chunk backward.
  StepRunner runner(model, &comm, /*optimizer=*/nullptr, /*bucket_mb=*/0.01);
  StatusOr<StepResult> result = runner.Run(local);
  CHECK(result.ok()) << result.status().message();
  Stepped s{result->local, result->global, {}};
  s.grads.assign(model.grads(), model.grads() + model.table().trainable_numel());
  return s;
}

void ExpectTermsNear(const model::LossTerms& got, const model::LossTerms& want,
                     const std::string& what) {
  EXPECT_EQ(got.has_srd, want.has_srd) << what;
  EXPECT_EQ(got.has_sdd, want.has_sdd) << what;
  EXPECT_NEAR(got.total, want.total, 1e-5 * std::fabs(want.total)) << what;
  EXPECT_NEAR(got.contrastive, want.contrastive, 1e-5 * std::fabs(want.contrastive)) << what;
  EXPECT_NEAR(got.srd, want.srd, 1e-5 * std::fabs(want.srd)) << what;
  EXPECT_NEAR(got.sdd, want.sdd, 1e-5 * std::fabs(want.sdd)) << what;
}

// The largest |chunked - unchunked| of each parameter relative to its largest |unchunked|.
double MaxRelativeDiff(const ParamTable& table, const std::vector<float>& got,
                       const std::vector<float>& want, std::string* worst) {
  double max_rel = 0;
  for (const ParamSpec& p : table.params()) {
    if (!p.trainable) continue;
    double diff = 0, scale = 0;
    for (int64_t i = p.offset; i < p.offset + p.numel(); ++i) {
      diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
      scale = std::max(scale, std::fabs(double(want[i])));
    }
    EXPECT_GT(scale, 0) << p.name << ": no gradient to compare";
    const double rel = scale > 0 ? diff / scale : diff;
    if (rel >= max_rel) {
      max_rel = rel;
      *worst = p.name;
    }
  }
  return max_rel;
}

// Chunked steps of `cfg` at micro_batch 1, 2 and 3 of 6 (and 2 with block recomputation) against
// the unchunked step: every loss term and parameter gradient within 1e-5 relative.
void ExpectChunkedEqualsUnchunked(const config::ModelConfig& cfg, comm::Communicator* comm,
                                  bool want_sdd) {
  const Stepped want = Step(cfg, *comm, /*micro_batch=*/0);
  ASSERT_TRUE(want.local.has_srd);
  ASSERT_EQ(want.local.has_sdd, want_sdd);
  const ParamTable table = model::BuildParamTable(cfg);
  // micro_batch 1, 2 and 3 of 6 (6, 3 and 2 chunks), and 2 with block recomputation too.
  struct Case {
    int64_t micro_batch;
    bool recompute;
  };
  for (const auto [micro_batch, recompute] :
       {Case{1, false}, Case{2, false}, Case{3, false}, Case{2, true}}) {
    const std::string what = "micro_batch " + std::to_string(micro_batch) +
                             (recompute ? " with recompute_blocks" : "") + " at " +
                             std::to_string(comm->world_size()) + " rank(s)";
    const Stepped got = Step(cfg, *comm, micro_batch, recompute);
    ExpectTermsNear(got.local, want.local, what + " (this rank's terms)");
    ExpectTermsNear(got.global, want.global, what + " (global terms)");
    ASSERT_EQ(got.grads.size(), want.grads.size());
    std::string worst;
    const double rel = MaxRelativeDiff(table, got.grads, want.grads, &worst);
    EXPECT_LE(rel, 1e-5) << what << ": parameter " << worst;
    const ParamSpec& scale = table.Get("logit_scale");
    EXPECT_NEAR(got.grads[scale.offset], want.grads[scale.offset],
                1e-5 * std::fabs(want.grads[scale.offset]))
        << what << ": logit_scale";
    if (comm->rank() == 0)
      std::printf("%s: max relative gradient difference %.3g (%s), total loss %.9g vs %.9g\n",
                  what.c_str(), rel, worst.c_str(), got.global.total, want.global.total);
  }
}

TEST(ChunkedStep, GradientsAndLossesEqualTheUnchunkedStep) {
  // The tiny model has the teacher and grounding layers: contrastive, SRD and SDD all active.
  auto comm = comm::MakeComm("mpi");
  ExpectChunkedEqualsUnchunked(testing::TinyModel(testing::kMiniOverrides), comm.get(), true);
}

// SRD towards the batch's product-box maps (model.srd_target MASK): each chunk stages its rows of
// target_maps; with the teacher SDD stays on, without it SRD needs no teacher at all.
TEST(ChunkedStep, MaskTargetSrdEqualsTheUnchunkedStep) {
  auto comm = comm::MakeComm("mpi");
  config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  cfg.set_srd_target(config::ModelConfig::MASK);
  ExpectChunkedEqualsUnchunked(cfg, comm.get(), true);
  cfg.clear_teacher();
  ExpectChunkedEqualsUnchunked(cfg, comm.get(), false);
}

// The SRD term of a chunk counts micro_batch / local_batch of the local mean: a step whose chunks
// had the weight of the whole batch would differ here (a check that the test above can fail).
TEST(ChunkedStep, GroundingGradientsDependOnTheSrdTerm) {
  const config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  config::ModelConfig no_srd = cfg;
  no_srd.set_w_srd(0);
  auto comm = comm::MakeComm("mpi");
  const Stepped with = Step(cfg, *comm, 2), without = Step(no_srd, *comm, 2);
  const ParamTable table = model::BuildParamTable(cfg);
  std::string worst;
  EXPECT_GT(MaxRelativeDiff(table, with.grads, without.grads, &worst), 1e-3);
}

}  // namespace
}  // namespace tigerfg::train
