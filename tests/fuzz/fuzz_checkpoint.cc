// tests/fuzz/fuzz_checkpoint.cc — a checkpoint directory from arbitrary bytes (checkpoint_input.h):
// ReadManifest, VerifyCheckpoint, CheckSameModel (which parses the manifest's config text) and
// LoadCheckpoint into the seeds' parameter table. A failed load must write nothing.
#include <fstream>
#include <vector>

#include "configs/config.h"
#include "runtime/checkpoint/checkpoint.h"
#include "tests/fuzz/checkpoint_input.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace train = tigerfg::train;
  using tigerfg::fuzz::Require;
  tigerfg::fuzz::CheckpointFiles files;
  if (!UnpackCheckpoint(std::string(reinterpret_cast<const char*>(data), size), &files)) return 0;
  const std::string& dir = tigerfg::fuzz::ScratchDir();
  WriteFile(dir + "/" + train::kManifestFile, files.manifest);
  WriteFile(dir + "/" + train::kParamsFile, files.params);
  WriteFile(dir + "/" + train::kOptimizerFile, files.optimizer);
  auto manifest = train::ReadManifest(dir);
  if (!manifest.ok()) return 0;
  (void)train::VerifyCheckpoint(dir, *manifest);
  tigerfg::config::ModelConfig model;
  model.mutable_query();
  (void)train::CheckSameModel(*manifest, model);
  static const tigerfg::ParamTable table = tigerfg::fuzz::CheckpointFuzzTable();
  constexpr float kSentinel = -7.0f;
  std::vector<float> params(table.total_numel(), kSentinel), m(table.trainable_numel(), kSentinel),
      v(table.trainable_numel(), kSentinel);
  auto loaded = train::LoadCheckpoint(dir, table, params.data(), m.data(), v.data());
  if (!loaded.ok()) {
    for (const auto* buf : {&params, &m, &v})
      for (float x : *buf)
        Require(x == kSentinel, "a failed LoadCheckpoint wrote into the buffers");
  }
  return 0;
}
