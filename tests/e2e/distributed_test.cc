// tests/e2e/distributed_test.cc — `tigerfg train` under mpirun: the same global batch at 1, 2, 3
// and 4 ranks gives the same losses and parameters; a rank that dies ends the whole job.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/safetensors.h"
#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kMpirun = std::string(TIGERFG_MPIEXEC) + " --oversubscribe --allow-run-as-root";
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

std::vector<double> Losses(const std::string& path) {
  std::vector<double> losses;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) losses.push_back(nlohmann::json::parse(line)["loss"]);
  return losses;
}

struct TrainedRun {
  std::vector<double> losses;  // metrics.jsonl's loss per step
  tigerfg::TensorFile final;   // final.safetensors
};

// `tigerfg train` on tiny_cpu at `np` ranks, global batch 12, 5 AdamW steps, `set` added to --set.
TrainedRun TrainAt(int np, const std::string& out, const std::string& set = "") {
  const std::string args = " train --config " + kTiny +
                           " --set train.global_batch=12,train.steps=5,train.threads=1" + set +
                           " --out_dir " + out;
  ShellResult r = Shell(kMpirun + " -np " + std::to_string(np) + " " + kBinary + args);
  EXPECT_EQ(r.exit_code, 0) << "np " << np << set << ":\n" << r.output;
  TrainedRun run;
  run.losses = Losses(out + "/metrics.jsonl");
  auto file = tigerfg::ReadSafetensors(out + "/final.safetensors");
  EXPECT_TRUE(file.ok()) << file.status().message();
  if (file.ok()) run.final = std::move(*file);
  return run;
}

// Losses per step, every tensor and all parameters together within 1e-5 relative.
void ExpectSameRun(const TrainedRun& got, const TrainedRun& want, const std::string& what) {
  ASSERT_EQ(got.losses.size(), 5u) << what;
  ASSERT_EQ(want.losses.size(), 5u) << what;
  for (size_t s = 0; s < 5; ++s)
    EXPECT_NEAR(got.losses[s], want.losses[s], 1e-5 * std::fabs(want.losses[s]))
        << what << " step " << s;
  ASSERT_FALSE(want.final.tensors.empty()) << what;
  double all_diff = 0, all_norm = 0;
  for (const auto& [name, ref] : want.final.tensors) {
    ASSERT_TRUE(got.final.tensors.count(name)) << what << ": no " << name;
    const tigerfg::Buffer& t = got.final.tensors.at(name);
    ASSERT_EQ(t.numel(), ref.numel()) << name;
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      diff += std::pow(double(t.f32()[i]) - ref.f32()[i], 2);
      norm += std::pow(double(ref.f32()[i]), 2);
    }
    all_diff += diff;
    all_norm += norm;
    EXPECT_LE(std::sqrt(diff), 1e-5 * std::sqrt(norm) + 1e-12) << what << " parameter " << name;
  }
  EXPECT_LE(std::sqrt(all_diff), 1e-5 * std::sqrt(all_norm)) << what;
}

// Global batch 12, 5 AdamW steps: every world size sees the same samples (DESIGN.md §3).
TEST(Distributed, WorldSizesAgreeOnLossesAndParameters) {
  const std::string root = TempDir("ws");
  const TrainedRun want = TrainAt(1, root + "/np1");
  for (int np : {2, 3, 4}) {
    ExpectSameRun(TrainAt(np, root + "/np" + std::to_string(np)), want,
                  "world " + std::to_string(np));
  }
  std::filesystem::remove_all(root);
}

// Chunked (GradCache) steps through the binary: train.micro_batch at 1, 2 and 3 ranks trains
// the unchunked single-rank run's losses and weights (the negatives stay the global batch).
TEST(Distributed, MicroBatchRunsAgreeWithTheUnchunkedRun) {
  const std::string root = TempDir("micro");
  const TrainedRun want = TrainAt(1, root + "/np1");
  struct Case {
    int np, micro_batch;  // local batch 12 / np
  };
  for (const Case c : {Case{1, 3}, Case{2, 2}, Case{3, 1}}) {
    const std::string what =
        "world " + std::to_string(c.np) + " micro_batch " + std::to_string(c.micro_batch);
    ExpectSameRun(TrainAt(c.np, root + "/np" + std::to_string(c.np) + "_m",
                          ",train.micro_batch=" + std::to_string(c.micro_batch)),
                  want, what);
  }
  std::filesystem::remove_all(root);
}

// Rank 1 of 3 exits at step 3: the others end non-zero within dist.timeout_s + 10 s, with a
// message, and no tigerfg process is left.
TEST(Distributed, ARankThatDiesEndsTheJob) {
  const std::string out = TempDir("fault");
  const double timeout_s = 5;
  const auto start = std::chrono::steady_clock::now();
  ShellResult r =
      Shell("timeout 120 " + kMpirun + " -np 3 " + kBinary + " train --config " + kTiny +
            " --set train.global_batch=12,train.steps=1000,train.threads=1,dist.timeout_s=" +
            std::to_string(timeout_s) + " --out_dir " + out + " --debug_exit_at=1:3");
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "the job hung:\n" << r.output;
  EXPECT_LT(elapsed, timeout_s + 10) << r.output;
  EXPECT_NE(r.output.find("rank 1 exits at step 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("exited"), std::string::npos) << r.output;
  // "[/]tmp/..." matches the ranks' command lines but not the shell that runs pgrep.
  ShellResult left = Shell("pgrep -f '[" + out.substr(0, 1) + "]" + out.substr(1) + "'");
  EXPECT_NE(left.exit_code, 0) << "processes left behind:\n" << left.output;
  std::filesystem::remove_all(out);
}

}  // namespace
