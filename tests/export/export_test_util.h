// tests/export/export_test_util.h — the configurations and parameters the export tests share.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "configs/config.h"
#include "model/tigerfg_model.h"

namespace tigerfg::testing {

// The tiny CPU config, with or without grounding layers and teacher.
inline config::RunConfig ExportConfig(bool grounded, bool teacher) {
  std::string overrides = grounded ? "" : "model.ground_layers=0";
  if (!teacher) overrides += std::string(overrides.empty() ? "" : ",") + "model.teacher=none";
  auto cfg = config::LoadConfig(TIGERFG_SOURCE_DIR "/configs/tiny_cpu.prototxt", overrides);
  CHECK(cfg.ok()) << cfg.status().message();
  return *cfg;
}

// Parameters laid out by `table`, from the model's deterministic initialisation.
inline std::vector<float> InitialParams(const ParamTable& table, const config::ModelConfig& cfg,
                                        uint64_t seed) {
  std::vector<float> params(table.total_numel());
  model::InitParams(table, cfg, seed, params.data());
  return params;
}

// A fresh scratch folder under the build tree for one test.
inline std::string ScratchDir(const std::string& name) {
  const std::string dir = std::string(TIGERFG_BINARY_DIR) + "/export_test_tmp/" + name;
  CHECK_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0) << dir;
  return dir;
}

}  // namespace tigerfg::testing
