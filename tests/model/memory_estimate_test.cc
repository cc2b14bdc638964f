// tests/model/memory_estimate_test.cc — the config layer's memory estimate (configs/
// memory_estimate.cc) against the model it describes: exact parameter counts, and activations a
// lower bound within a small factor of the arena the model plans.
#include <gtest/gtest.h>

#include <string>

#include "configs/config.h"
#include "model/tigerfg_model.h"

namespace tigerfg::model {
namespace {

config::RunConfig Shipped(const std::string& name, const std::string& overrides = "") {
  auto cfg = config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/" + name, overrides);
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  return cfg.ok() ? *cfg : config::RunConfig();
}

TEST(MemoryEstimate, ParamCountsEqualTheParamTable) {
  for (const char* name : {"tiny_cpu.prototxt", "small_cpu.prototxt", "vit_b16.prototxt"}) {
    for (const char* overrides : {"", "model.teacher=none,model.ground_layers=0"}) {
      const config::RunConfig cfg = Shipped(name, overrides);
      const ParamTable table = BuildParamTable(cfg.model());
      const config::ParamCounts counts = config::CountParams(cfg.model());
      // The tensors' own elements: the flat buffers also hold alignment gaps (param_table.h).
      int64_t trainable = 0, frozen = 0;
      for (const ParamSpec& p : table.params()) (p.trainable ? trainable : frozen) += p.numel();
      EXPECT_EQ(counts.trainable, static_cast<double>(trainable)) << name;
      EXPECT_EQ(counts.frozen, static_cast<double>(frozen)) << name << " " << overrides;
    }
  }
}

TEST(MemoryEstimate, ActivationsAreALowerBoundNearTheArena) {
  constexpr int64_t kBatch = 2;
  for (const char* name : {"tiny_cpu.prototxt", "small_cpu.prototxt"}) {
    for (const char* overrides : {"train.global_batch=2",
                                  "train.global_batch=2,"
                                  "train.recompute_blocks=true"}) {
      const config::RunConfig cfg = Shipped(name, overrides);
      TigerFGModel model(cfg.model(), kBatch, Context::Cpu(), /*world_size=*/1, config::FP32,
                         cfg.train().recompute_blocks());
      const config::MemoryEstimate est = config::EstimateMemory(cfg);
      const double estimated = est.activation_bytes_per_sample * kBatch;
      const double planned = static_cast<double>(model.activation_bytes());
      EXPECT_LE(estimated, planned) << name << " " << overrides;
      EXPECT_GE(estimated, 0.5 * planned) << name << " " << overrides;
    }
  }
}

}  // namespace
}  // namespace tigerfg::model
