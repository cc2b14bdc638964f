// tests/model/spec_runner.h — helpers shared by the model and parity tests: tiny configurations,
// a scratch directory, and running the PyTorch spec (tests/reference/tigerfg_ref.py).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include "configs/config.h"
#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"
#include "runtime/core/param_table.h"
#include "runtime/core/safetensors.h"

namespace tigerfg::testing {

inline std::string SpecPath() {
  return std::string(TIGERFG_SOURCE_DIR) + "/tests/reference/tigerfg_ref.py";
}

// The tiny preset (configs/tiny_cpu.prototxt) with `overrides` applied (LoadConfig syntax).
inline config::ModelConfig TinyModel(const std::string& overrides = "") {
  auto run =
      config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt", overrides);
  CHECK(run.ok()) << run.status().message();
  return run->model();
}

// A fresh directory under the system temp dir, removed with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tigerfg_" + tag + "_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `command` through the shell; returns its exit status and puts stdout+stderr in *output.
inline int RunCommand(const std::string& command, std::string* output) {
  const std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  output->clear();
  while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) output->append(chunk, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// The Debian python3 that has torch (the PATH python3 may be a pyenv without it).
inline const char* kSpecPython = "/usr/bin/python3";

// What the spec produced for one configuration, read back: its weights, its batch and its
// `grads` output (loss/*, out/*, grad/*).
struct SpecCase {
  TensorFile weights, batch, grads;

  // The spec's weights in the flat layout of `table` (params[table.total_numel()]); every
  // parameter must be there.
  void CopyParams(const ParamTable& table, float* params) const {
    EXPECT_EQ(weights.tensors.size(), table.params().size()) << "weights and table differ in size";
    for (const ParamSpec& p : table.params()) {
      auto t = weights.Get(p.name, DType::kF32, p.shape);
      ASSERT_TRUE(t.ok()) << t.status().message();
      std::copy_n(t->f32(), p.numel(), params + p.offset);
    }
  }
  // The spec's batch (its tensors move out of `batch`).
  Batch TakeBatch() {
    Batch b;
    for (auto [name, slot] :
         {std::pair{"query_images", &b.query_images}, std::pair{"item_images", &b.item_images},
          std::pair{"title_ids", &b.title_ids}, std::pair{"product_ids", &b.product_ids}}) {
      EXPECT_TRUE(batch.Has(name)) << batch.origin << " has no " << name;
      if (batch.Has(name)) *slot = std::move(batch.tensors[name]);
    }
    // Only with srd_target MASK: the product-box maps SRD uses as its target.
    if (batch.Has("target_maps")) b.target_maps = std::move(batch.tensors["target_maps"]);
    return b;
  }
};

// Runs `python tigerfg_ref.py init` (batch_size samples of 4 products from `seed`) and `grads` for
// cfg with their files in `dir`, and reads them into *out. Failures are assertion failures
// (callers return on ::testing::Test::HasFatalFailure()).
inline void RunSpecCase(const std::string& python, const config::ModelConfig& cfg,
                        int64_t batch_size, int seed, const ScratchDir& dir, SpecCase* out) {
  const std::string config_json = dir.File("config.json"), weights = dir.File("weights.st"),
                    batch = dir.File("batch.st"), grads = dir.File("grads.st");
  WriteFile(config_json, config::ModelConfigToSpecJson(cfg));
  const std::string spec = python + " " + SpecPath();
  std::string log;
  ASSERT_EQ(RunCommand(spec + " init --config " + config_json + " --weights " + weights +
                           " --batch " + batch + " --batch-size " + std::to_string(batch_size) +
                           " --products 4 --seed " + std::to_string(seed),
                       &log),
            0)
      << log;
  ASSERT_EQ(RunCommand(spec + " grads --config " + config_json + " --weights " + weights +
                           " --batch " + batch + " --out " + grads,
                       &log),
            0)
      << log;
  for (auto [path, file] : {std::pair{weights, &out->weights}, std::pair{batch, &out->batch},
                            std::pair{grads, &out->grads}}) {
    auto read = ReadSafetensors(path);
    ASSERT_TRUE(read.ok()) << read.status().message();
    *file = std::move(*read);
  }
}

}  // namespace tigerfg::testing
