// tests/model/model_distributed_test.cc — the distributed step of DESIGN.md §3 simulated in one
// process: two ranks encode half the batch each, losses on the gathered embeddings, gradients
// reduce-scattered and averaged, must equal one rank's step on the whole batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/local_communicator.h"
#include "model/tigerfg_model.h"
#include "ops/losses.h"
#include "runtime/train/step_runner.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

namespace tigerfg::model {
namespace {

// Concatenates the rank tensors [b, C] into all [world·b, C].
void Gather(const std::vector<Tensor>& parts, const Tensor& all) {
  float* dst = all.f32();
  for (const Tensor& p : parts) dst = std::copy_n(p.f32(), p.numel(), dst);
}

void ExpectTwoRanksMatchOne(const config::ModelConfig& cfg) {
  constexpr int kWorld = 2;
  constexpr int64_t kLocal = 3, kGlobal = kWorld * kLocal;
  const Batch full = testing::RandomBatch(cfg, kGlobal, /*seed=*/21);
  TigerFGModel single(cfg, kGlobal, Context::Cpu());
  InitParams(single.table(), cfg, /*seed=*/4, single.params());
  comm::LocalCommunicator comm;
  train::StepRunner runner(single, &comm);
  const LossTerms want = runner.Run(full)->local;

  std::vector<std::unique_ptr<TigerFGModel>> ranks;
  std::vector<Batch> shards;
  for (int r = 0; r < kWorld; ++r) {
    ranks.push_back(std::make_unique<TigerFGModel>(cfg, kLocal, Context::Cpu(), kWorld));
    InitParams(ranks[r]->table(), cfg, 4, ranks[r]->params());
    ranks[r]->ZeroGrads();
    shards.push_back(testing::BatchRows(full, r * kLocal, kLocal));
    ranks[r]->EncodeForward(shards[r]);
  }
  const int64_t e = cfg.embed_dim();
  Buffer q_all = Buffer::Zeros(Shape{kGlobal, e}), e_all = Buffer::Zeros(Shape{kGlobal, e});
  Gather({ranks[0]->query_emb(), ranks[1]->query_emb()}, q_all);
  Gather({ranks[0]->item_emb(), ranks[1]->item_emb()}, e_all);
  Buffer ti_all;
  if (cfg.has_teacher()) {
    ti_all = Buffer::Zeros(Shape{kGlobal, ranks[0]->teacher_dim()});
    Gather({ranks[0]->teacher_item(), ranks[1]->teacher_item()}, ti_all);
  }
  std::vector<Buffer> dq_all, de_all;
  LossTerms mean;
  for (int r = 0; r < kWorld; ++r) {
    dq_all.push_back(Buffer::Zeros(Shape{kGlobal, e}));
    de_all.push_back(Buffer::Zeros(Shape{kGlobal, e}));
    // terms [5], a slot of padding, terms64 [8] (8-byte aligned)
    Buffer slots = Buffer::Zeros(Shape{ops::kLossTermSlots + 1 + ops::kLossTerm64Slots});
    const LossSlots out = {slots.tensor().Slice(0, ops::kLossTermSlots),
                           slots.tensor().Slice(ops::kLossTermSlots + 1, slots.numel())};
    ranks[r]->LossForwardBackward(q_all, e_all, ti_all.tensor(), full.product_ids, r * kLocal,
                                  dq_all[r], de_all[r], out);
    const LossTerms t = ranks[r]->LossTermsFromHost(out.terms64.f32());
    mean.total += t.total / kWorld;
    mean.contrastive += t.contrastive / kWorld;
    mean.srd += t.srd / kWorld;
    mean.sdd += t.sdd / kWorld;
  }
  EXPECT_NEAR(mean.total, want.total, 1e-5 * want.total);
  EXPECT_NEAR(mean.contrastive, want.contrastive, 1e-5 * want.contrastive);
  EXPECT_NEAR(mean.srd, want.srd, 1e-5 * want.srd + 1e-9);
  EXPECT_NEAR(mean.sdd, want.sdd, 1e-5 * want.sdd + 1e-9);

  const ParamTable& table = single.table();
  std::vector<double> grad_mean(table.trainable_numel(), 0.0);
  for (int r = 0; r < kWorld; ++r) {
    // Reduce-scatter (sum) of the gathered embedding gradients.
    Buffer dq = Buffer::Zeros(Shape{kLocal, e}), de = Buffer::Zeros(Shape{kLocal, e});
    for (int s = 0; s < kWorld; ++s) {
      for (int64_t i = 0; i < kLocal * e; ++i) {
        dq.f32()[i] += dq_all[s].f32()[r * kLocal * e + i];
        de.f32()[i] += de_all[s].f32()[r * kLocal * e + i];
      }
    }
    std::map<std::string, int> ready;
    ranks[r]->EncodeBackward(dq, de, [&](const std::string& name) { ++ready[name]; });
    for (const ParamSpec& p : table.params()) {
      if (p.trainable) EXPECT_EQ(ready[p.name], 1) << p.name << " announced " << ready[p.name];
    }
    EXPECT_EQ(ready.size(),
              static_cast<size_t>(std::count_if(table.params().begin(), table.params().end(),
                                                [](const ParamSpec& p) { return p.trainable; })));
    for (int64_t i = 0; i < table.trainable_numel(); ++i) {
      grad_mean[i] += ranks[r]->grads()[i] / kWorld;
    }
  }
  for (const ParamSpec& p : table.params()) {
    if (!p.trainable) continue;
    double diff = 0, ref = 0;
    for (int64_t i = p.offset; i < p.offset + p.numel(); ++i) {
      diff += (grad_mean[i] - single.grads()[i]) * (grad_mean[i] - single.grads()[i]);
      ref += static_cast<double>(single.grads()[i]) * single.grads()[i];
    }
    EXPECT_LE(std::sqrt(diff), 1e-4 * std::sqrt(ref) + 1e-7) << p.name;
  }
}

TEST(ModelDistributed, TwoRanksWithTeacherEqualOneRank) {
  ExpectTwoRanksMatchOne(testing::TinyModel(testing::kMiniOverrides));
}

TEST(ModelDistributed, TwoRanksBaselineWithoutTeacherEqualOneRank) {
  ExpectTwoRanksMatchOne(testing::TinyModel(std::string(testing::kMiniOverrides) +
                                            ",model.teacher=none,model.ground_layers=0"));
}

}  // namespace
}  // namespace tigerfg::model
