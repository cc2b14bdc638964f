// tests/e2e/train_test.cc — `tigerfg train` and `tigerfg grads` as a user runs them: the tiny
// config's loss falls over 200 steps; bad configs and flags end with a clear error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

std::vector<nlohmann::json> ReadMetrics(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(Train, TinyConfigLossFallsOver200Steps) {
  const std::string out = TempDir("train");
  ShellResult r = Shell(kBinary + " train --config " + kTiny + " --out_dir " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto metrics = ReadMetrics(out + "/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 200u);
  for (const char* key :
       {"step", "loss", "contrastive", "srd", "sdd", "lr", "grad_norm", "samples_per_s"})
    EXPECT_TRUE(metrics[0].contains(key)) << key;
  double first = 0, last = 0;
  for (int i = 0; i < 20; ++i) {
    first += metrics[i]["loss"].get<double>() / 20;
    last += metrics[180 + i]["loss"].get<double>() / 20;
  }
  EXPECT_LT(last, 0.7 * first) << "mean loss of the first 20 steps " << first << ", of the last 20 "
                               << last;
  EXPECT_TRUE(std::filesystem::exists(out + "/final.safetensors"));
  std::filesystem::remove_all(out);
}

TEST(Train, BadConfigAndFlagsAreClearErrors) {
  const std::string out = TempDir("bad");
  ShellResult missing = Shell(kBinary + " train --config /nonexistent.prototxt --out_dir " + out);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("/nonexistent.prototxt"), std::string::npos) << missing.output;
  ShellResult heads =
      Shell(kBinary + " train --config " + kTiny + " --set model.text.heads=5 --out_dir " + out);
  EXPECT_NE(heads.exit_code, 0);
  EXPECT_NE(heads.output.find("model.text.heads"), std::string::npos) << heads.output;
  ShellResult no_out = Shell(kBinary + " train --config " + kTiny);
  EXPECT_NE(no_out.exit_code, 0);
  EXPECT_NE(no_out.output.find("--out_dir"), std::string::npos) << no_out.output;
  ShellResult unknown = Shell(kBinary + " frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  std::filesystem::remove_all(out);
}

// The spec's `init` makes weights and a batch; `tigerfg grads` takes them, and names what is
// wrong when the batch lacks a tensor or the weights do not fit the config.
TEST(Grads, RunsOnSpecFilesAndNamesBadTensors) {
  if (Shell("/usr/bin/python3 -c 'import torch'").exit_code != 0)
    GTEST_SKIP() << "python3-torch is not installed";
  const std::string dir = TempDir("grads");
  const std::string spec = std::string(TIGERFG_SOURCE_DIR) + "/tests/reference/tigerfg_ref.py";
  ShellResult init =
      Shell("cd " + dir + " && /usr/bin/python3 -c \"import json, sys; sys.path.insert(0, '" +
            std::filesystem::path(spec).parent_path().string() +
            "'); import tigerfg_ref as r; json.dump(r.TigerFGConfig.from_dict("
            "r.PRESETS['tiny']).to_dict(), open('c.json', 'w'))\" && /usr/bin/python3 " +
            spec + " init --config c.json --weights w.st --batch b.st --products 3");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  const std::string base = kBinary + " grads --config " + kTiny + " --weights " + dir + "/w.st";
  ShellResult ok = Shell(base + " --batch " + dir + "/b.st --out " + dir + "/g.st");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("\"total\""), std::string::npos) << ok.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/g.st"));
  ShellResult no_images = Shell(base + " --batch " + dir + "/w.st --out " + dir + "/g2.st");
  EXPECT_NE(no_images.exit_code, 0);
  EXPECT_NE(no_images.output.find("query_images"), std::string::npos) << no_images.output;
  ShellResult shape =
      Shell(base + " --set model.embed_dim=16 --batch " + dir + "/b.st --out " + dir + "/g3.st");
  EXPECT_NE(shape.exit_code, 0);
  EXPECT_NE(shape.output.find("query_proj.weight"), std::string::npos) << shape.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
