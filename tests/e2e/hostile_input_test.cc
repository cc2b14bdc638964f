// tests/e2e/hostile_input_test.cc — hostile-but-honest input to the tigerfg binary (issue #11):
// overflowing safetensors shapes, oversized config values, stray `--set` commas, huge brace
// ranges and non-finite weights all end with exit 1 and a message naming the field, file or
// tensor — never a signal, a glog stack trace or minutes of grinding.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/core/safetensors.h"
#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

// A clean user error: exit 1, the message, and no crash report.
void ExpectUserError(const ShellResult& r, const std::string& expected) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Check failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("stack trace"), std::string::npos) << r.output;
}

// Defect 2: a 300-byte batch whose shape's element count overflows int64 was a SIGSEGV.
TEST(HostileInput, OverflowingSafetensorsShapeIsAnErrorNamingTheTensor) {
  const std::string dir = TempDir("hostile_st");
  const std::string batch = dir + "/batch.safetensors";
  std::string header = R"({"query_images":{"dtype":"F32","shape":[4,4611686018427387908,1,1],)"
                       R"("data_offsets":[0,64]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(batch, std::ios::binary) << bytes << header << std::string(64, '\0');
  ShellResult r = Shell(kBinary + " grads --config " + kTiny + " --weights " + dir +
                        "/w.safetensors --batch " + batch + " --out " + dir + "/g.safetensors");
  ExpectUserError(r, batch + ": tensor query_images: shape");
  EXPECT_NE(r.output.find("overflows int64"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

// Defects 4 and 7: oversized or malformed config values are errors naming the field, at once.
TEST(HostileInput, OversizedConfigValuesAreErrorsNamingTheField) {
  const std::string out = TempDir("hostile_cfg");
  struct Case {
    std::string set, expected;
  };
  for (const Case& c : {
           Case{"train.global_batch=2147483647", "train.global_batch: 2147483647 exceeds"},
           Case{"model.embed_dim=2147483647", "model.embed_dim: 2147483647 exceeds"},
           Case{"model.query.depth=1000000", "model.query.depth: 1000000 exceeds"},
           Case{"model.text.vocab_size=99999999", "model.text.vocab_size: 99999999 exceeds"},
           Case{"model.query.depth=1000,model.query.width=65536", "the model needs"},
           Case{"data.bad_check_min_seen=-5", "data.bad_check_min_seen: -5 must not be"},
           Case{"train.steps=5,,", "is empty"},
           Case{"data.train_shards=shard-{0..99999999}.tar,data.vocab=/nonexistent/vocab.txt",
                "expands to 100000000 shard names"},
       }) {
    const auto start = std::chrono::steady_clock::now();
    ShellResult r = Shell(kBinary + " train --config " + kTiny + " --out_dir " + out + " --set '" +
                          c.set + "'");
    ExpectUserError(r, c.expected);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << c.set;
  }
  std::filesystem::remove_all(out);
}

// Defect 7: NaN weights trained into "lower optim.lr?" and exported with exit 0.
TEST(HostileInput, NonFiniteWeightsAreErrorsNamingFileAndTensor) {
  const std::string dir = TempDir("hostile_nan");
  ShellResult trained =
      Shell(kBinary + " train --config " + kTiny + " --steps 1 --out_dir " + dir + "/run");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  auto weights = tigerfg::ReadSafetensors(dir + "/run/final.safetensors");
  ASSERT_TRUE(weights.ok()) << weights.status().message();
  const std::string name = "query.blocks.0.attn.qkv.weight";
  ASSERT_TRUE(weights->Has(name));
  weights->tensors.at(name).f32()[5] = std::nanf("");
  std::vector<tigerfg::NamedTensor> tensors;
  for (const auto& [n, b] : weights->tensors) tensors.push_back({n, b.tensor()});
  const std::string nan_path = dir + "/nan.safetensors";
  ASSERT_TRUE(tigerfg::WriteSafetensors(nan_path, tensors).ok());

  ShellResult init = Shell(kBinary + " train --config " + kTiny + " --steps 1 --init_weights " +
                           nan_path + " --out_dir " + dir + "/init");
  ExpectUserError(init, nan_path + ": tensor " + name + " holds a non-finite value");
  ShellResult exported = Shell(kBinary + " export --config " + kTiny + " --weights " + nan_path +
                               " --tower query --format safetensors --out " + dir + "/q.st");
  ExpectUserError(exported, nan_path + ": tensor " + name + " holds a non-finite value");
  EXPECT_FALSE(std::filesystem::exists(dir + "/q.st"));
  std::filesystem::remove_all(dir);
}

}  // namespace
