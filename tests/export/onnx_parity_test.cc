// tests/export/onnx_parity_test.cc — the exported towers, run in onnxruntime (onnxruntime-node,
// installed on first use under the build tree), agree with the runtime's own embeddings
// (the serving entry points EncodeQueries / EncodeItems) at batch 1 and batch 7, from one
// exported file each.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/export/onnx_export.h"
#include "tests/export/export_test_util.h"
#include "tests/model/test_batches.h"

namespace tigerfg::exporter {
namespace {

constexpr double kTolerance = 1e-4;
const std::string kOrtDir = std::string(TIGERFG_BINARY_DIR) + "/onnxrt";

bool CommandExists(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Installs onnxruntime-node@1.30 (with its bundled CPU library: --ignore-scripts skips the
// optional GPU download) into build/onnxrt once; flock keeps parallel test processes from
// installing twice. Empty on success, else why not.
std::string EnsureOnnxRuntime() {
  if (std::ifstream(kOrtDir + "/node_modules/onnxruntime-node/package.json").good()) return "";
  const std::string command =
      "mkdir -p '" + kOrtDir + "' && flock '" + kOrtDir + ".lock' sh -c 'test -f \"" + kOrtDir +
      "/node_modules/onnxruntime-node/package.json\" || npm install --prefix \"" + kOrtDir +
      "\" --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30' >&2";
  if (std::system(command.c_str()) != 0) return "npm install onnxruntime-node@1.30 failed";
  return "";
}

template <typename T>
void WriteRaw(const std::string& path, const T* data, int64_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
  CHECK(out.good()) << path;
}

std::string Dims(const Shape& shape) {
  std::string s;
  for (int64_t d : shape.dims()) s += (s.empty() ? "" : ",") + std::to_string(d);
  return s;
}

// Runs ort_embed.js; returns the embedding [rows * embed_dim].
std::vector<float> RunOnnxRuntime(const std::string& model_path, const std::string& dir,
                                  const Batch& batch, bool item) {
  const Buffer& images = item ? batch.item_images : batch.query_images;
  WriteRaw(dir + "/image.f32", images.f32(), images.numel());
  std::string inputs = "image:float32:" + Dims(images.shape()) + ":" + dir + "/image.f32";
  if (item) {
    WriteRaw(dir + "/ids.i64", batch.title_ids.i64(), batch.title_ids.numel());
    inputs += " title_ids:int64:" + Dims(batch.title_ids.shape()) + ":" + dir + "/ids.i64";
  }
  const std::string out = dir + "/embedding.f32";
  std::remove(out.c_str());
  const std::string command = "NODE_PATH='" + kOrtDir + "/node_modules' node '" +
                              TIGERFG_SOURCE_DIR "/tests/export/ort_embed.js' '" + model_path +
                              "' '" + out + "' " + inputs;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

double MaxAbsDiff(const std::vector<float>& runtime, const std::vector<float>& onnx) {
  EXPECT_EQ(onnx.size(), runtime.size());
  if (onnx.size() != runtime.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < runtime.size(); ++i) {
    const double d = std::fabs(static_cast<double>(runtime[i]) - onnx[i]);
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  return worst;
}

class OnnxParityTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!CommandExists("node") || !CommandExists("npm")) {
      GTEST_SKIP() << "node/npm not found: cannot run onnxruntime-node (cluster/install_deps.sh "
                      "installs nodejs and npm)";
    }
    const std::string error = EnsureOnnxRuntime();
    ASSERT_TRUE(error.empty()) << error;
  }
};

TEST_P(OnnxParityTest, TowersMatchTheRuntimeAtBatch1And7) {
  const bool grounded = GetParam();
  // The teacher is in the config (and runs in EncodeForward) but is never exported.
  const config::RunConfig cfg = testing::ExportConfig(grounded, /*teacher=*/grounded);
  const config::ModelConfig& m = cfg.model();
  const std::string dir = testing::ScratchDir(grounded ? "parity_grounded" : "parity_baseline");
  constexpr uint64_t kSeed = 17;
  {
    const ParamTable table = model::BuildParamTable(m);
    const std::vector<float> params = testing::InitialParams(table, m, kSeed);
    onnx::ModelProto query = BuildQueryTowerOnnx(m, table, params.data());
    onnx::ModelProto item = BuildItemTowerOnnx(m, table, params.data());
    ASSERT_TRUE(CheckOnnxModel(&query, "query").ok());
    ASSERT_TRUE(CheckOnnxModel(&item, "item").ok());
    ASSERT_TRUE(WriteOnnxModel(query, dir + "/query.onnx").ok());
    ASSERT_TRUE(WriteOnnxModel(item, dir + "/item.onnx").ok());
  }
  for (int64_t b : {1, 7}) {
    SCOPED_TRACE("batch " + std::to_string(b));
    model::TigerFGModel runtime(m, b, Context::Cpu());
    model::InitParams(runtime.table(), m, kSeed, runtime.params());
    const Batch batch = testing::RandomBatch(m, b, /*seed=*/100 + b);
    // The serving entry points, each tower alone (EncodeQueries / EncodeItems).
    const Tensor q = runtime.EncodeQueries(batch.query_images);
    const std::vector<float> query_emb(q.f32(), q.f32() + q.numel());
    const Tensor e = runtime.EncodeItems(batch.item_images, batch.title_ids);
    const std::vector<float> item_emb(e.f32(), e.f32() + e.numel());

    const double query_diff =
        MaxAbsDiff(query_emb, RunOnnxRuntime(dir + "/query.onnx", dir, batch, false));
    const double item_diff =
        MaxAbsDiff(item_emb, RunOnnxRuntime(dir + "/item.onnx", dir, batch, true));
    std::cout << "onnx parity (" << (grounded ? "grounded" : "baseline") << ", batch " << b
              << "): max |query diff| " << query_diff << ", max |item diff| " << item_diff << "\n";
    EXPECT_LE(query_diff, kTolerance);
    EXPECT_LE(item_diff, kTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Towers, OnnxParityTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Grounded" : "Baseline");
                         });

}  // namespace
}  // namespace tigerfg::exporter
