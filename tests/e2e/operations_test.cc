// tests/e2e/operations_test.cc — running tigerfg as a cluster does: the out-dir policy
// (--overwrite, --resume=auto), preemption (SIGTERM on one rank -> every rank checkpoints and
// exits 0) and an error on rank 0 alone ending every rank promptly with its message.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/shell.h"

namespace {

namespace fs = std::filesystem;
using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kMpirun = std::string(TIGERFG_MPIEXEC) + " --oversubscribe --allow-run-as-root";
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

// `set`: more --set overrides (one --set flag holds them all).
std::string Train(const std::string& steps, const std::string& out, const std::string& set = "") {
  return kBinary + " train --config " + kTiny + " --set train.threads=1,train.steps=" + steps +
         set + " --out_dir " + out;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t MetricLines(const std::string& out) {
  std::ifstream in(out + "/metrics.jsonl");
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(Operations, AFreshRunRefusesAnOutDirHoldingARunUnlessOverwrite) {
  const std::string out = TempDir("ops_outdir");
  ShellResult first = Shell(Train("6", out, ",train.checkpoint_every=2"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string final_before = ReadText(out + "/final.safetensors");

  ShellResult again = Shell(Train("4", out));
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("holds a run"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("--overwrite"), std::string::npos) << again.output;
  EXPECT_EQ(ReadText(out + "/final.safetensors"), final_before) << "the refused run wrote";
  EXPECT_EQ(MetricLines(out), 6u);
  EXPECT_TRUE(fs::exists(out + "/checkpoints/step-00000006"));

  // --resume=auto continues the finished run (nothing left to train).
  ShellResult resumed = Shell(Train("6", out) + " --resume=auto");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("from step 6"), std::string::npos) << resumed.output;

  // --overwrite: the old run's files go first; no stale step or metric line survives.
  ShellResult overwritten = Shell(Train("4", out) + " --overwrite");
  ASSERT_EQ(overwritten.exit_code, 0) << overwritten.output;
  EXPECT_EQ(MetricLines(out), 4u);
  EXPECT_FALSE(fs::exists(out + "/checkpoints/step-00000006"));
  EXPECT_EQ(ReadText(out + "/checkpoints/latest"), "step-00000004\n");
  fs::remove_all(out);
}

TEST(Operations, ResumeAutoStartsFreshWithoutACompleteCheckpoint) {
  const std::string out = TempDir("ops_auto");
  ShellResult fresh = Shell(Train("3", out + "/new") + " --resume=auto");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(fresh.output.find("from step"), std::string::npos) << fresh.output;

  // Killed before its first checkpoint: metrics.jsonl but no checkpoint; auto starts over.
  ShellResult killed =
      Shell(Train("8", out + "/killed", ",train.checkpoint_every=0") + " --debug_exit_at=0:3");
  ASSERT_EQ(killed.exit_code, 3) << killed.output;
  ASSERT_EQ(MetricLines(out + "/killed"), 3u);
  ShellResult redo = Shell(Train("8", out + "/killed") + " --resume=auto");
  ASSERT_EQ(redo.exit_code, 0) << redo.output;
  EXPECT_EQ(MetricLines(out + "/killed"), 8u);
  // Plain --resume keeps its meaning: no checkpoint is an error.
  ShellResult plain = Shell(Train("3", out + "/empty") + " --resume");
  EXPECT_NE(plain.exit_code, 0) << plain.output;
  fs::remove_all(out);
}

// SIGTERM reaches rank 1 of 2 at the start of step 4: both ranks stop after that step, rank 0
// writes step-00000005 and the job exits 0; --resume=auto then finishes the run.
TEST(Operations, SigtermOnOneRankCheckpointsEveryRankAndExitsZero) {
  const std::string out = TempDir("ops_sigterm");
  const std::string run =
      kMpirun + " -np 2 " + Train("12", out, ",train.global_batch=8,train.checkpoint_every=0");
  ShellResult stopped = Shell("timeout 120 " + run + " --debug_signal_at=1:4");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("stopped after step 5"), std::string::npos) << stopped.output;
  EXPECT_EQ(ReadText(out + "/checkpoints/latest"), "step-00000005\n");
  EXPECT_FALSE(fs::exists(out + "/final.safetensors")) << "a stopped run is not finished";
  EXPECT_EQ(MetricLines(out), 5u);
  // Other ranks' log lines carry their rank.
  EXPECT_NE(stopped.output.find("[rank 1] "), std::string::npos) << stopped.output;

  ShellResult resumed = Shell("timeout 120 " + run + " --resume=auto");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("from step 5"), std::string::npos) << resumed.output;
  EXPECT_EQ(MetricLines(out), 12u);
  EXPECT_TRUE(fs::exists(out + "/final.safetensors"));
  fs::remove_all(out);
}

// Rank 0 alone cannot create --out_dir (its parent is a file): every rank ends within seconds,
// not at dist.timeout_s, and the message names the folder.
TEST(Operations, AnErrorOnRankZeroAloneEndsEveryRankPromptly) {
  const std::string root = TempDir("ops_rank0");
  std::ofstream(root + "/file") << "not a folder";
  const auto start = std::chrono::steady_clock::now();
  ShellResult r = Shell("timeout 120 " + kMpirun + " -np 2 " +
                        Train("5", root + "/file/run", ",dist.timeout_s=60"));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_LT(elapsed, 30) << r.output;
  EXPECT_NE(r.output.find(root + "/file/run: cannot create"), std::string::npos) << r.output;
  fs::remove_all(root);
}

}  // namespace
