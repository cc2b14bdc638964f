// tests/e2e/profile_test.cc — observability as a user meets it (DESIGN.md §7): `tigerfg bench`'s
// JSON (MFU, peak memory, phase medians), metrics.jsonl's per-step figures, the --trace Chrome
// trace of one and two ranks, and clear errors for bad --trace and --peak_tflops.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";
const std::string kMpirun = std::string(TIGERFG_MPIEXEC) + " --oversubscribe --allow-run-as-root";
const std::vector<std::string> kPhases = {"data_wait", "forward",      "loss",
                                          "backward",  "exposed_comm", "optimizer"};

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// Checks a rank's trace: metadata naming the rank, and for each of `steps` steps a "step N" event
// holding at least one event of every phase in `phases`, nested in it, durations >= 0. Returns
// the names of the events on the collectives track.
std::multiset<std::string> CheckTrace(const std::string& path, int rank, int steps,
                                      const std::vector<std::string>& phases) {
  std::multiset<std::string> collectives;
  nlohmann::json trace;
  EXPECT_NO_THROW(trace = ReadJson(path)) << path;
  if (!trace.contains("traceEvents")) {
    ADD_FAILURE() << path << " has no traceEvents";
    return collectives;
  }
  struct Range {
    double ts = -1, end = -1;
  };
  std::map<int64_t, Range> step_range;
  std::map<int64_t, std::vector<nlohmann::json>> by_step;
  bool named = false;
  for (const auto& e : trace["traceEvents"]) {
    EXPECT_EQ(e["pid"].get<int>(), rank) << e;
    if (e["ph"] == "M") {
      if (e["name"] == "process_name") named = e["args"]["name"] == "rank " + std::to_string(rank);
      continue;
    }
    EXPECT_EQ(e["ph"], "X") << e;
    EXPECT_GE(e["dur"].get<double>(), 0) << e;
    const int64_t step = e["args"]["step"].get<int64_t>();
    const std::string name = e["name"];
    if (name == "step " + std::to_string(step)) {
      EXPECT_EQ(e["tid"], 0) << e;
      step_range[step] = {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()};
    } else {
      by_step[step].push_back(e);
    }
  }
  EXPECT_TRUE(named) << path << ": no process_name 'rank " << rank << "'";
  EXPECT_EQ(static_cast<int>(step_range.size()), steps) << path;
  double previous_end = 0;
  for (const auto& [step, range] : step_range) {
    EXPECT_GE(range.ts, previous_end) << "step " << step << " overlaps the one before";
    previous_end = range.end;
    std::set<std::string> seen;
    for (const auto& e : by_step[step]) {
      const double ts = e["ts"].get<double>(), end = ts + e["dur"].get<double>();
      constexpr double kRoundingUs = 1e-3;
      EXPECT_GE(ts, range.ts - kRoundingUs) << "step " << step << ": " << e;
      EXPECT_LE(end, range.end + kRoundingUs) << "step " << step << ": " << e;
      if (e["tid"] == 0) seen.insert(e["name"].get<std::string>());
      if (e["tid"] == 1) collectives.insert(e["name"].get<std::string>());
    }
    for (const std::string& phase : phases)
      EXPECT_TRUE(seen.count(phase)) << path << " step " << step << " has no " << phase;
  }
  return collectives;
}

TEST(Bench, JsonHasThroughputMfuMemoryAndPhaseMedians) {
  const std::string dir = TempDir("bench_profile");
  ShellResult r = Shell(kBinary + " bench --config " + kTiny +
                        " --batch 4 --steps 7 --warmup 1 --peak_tflops 0.5 --out " + dir +
                        "/bench.json --trace " + dir + "/trace.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json b = ReadJson(dir + "/bench.json");
  for (const char* key :
       {"step_s_median", "samples_per_s", "model_gflops", "model_tflops", "peak_tflops", "mfu",
        "flops_per_sample", "peak_mem_bytes", "peak_mem_gib", "loss", "device", "batch"})
    ASSERT_TRUE(b.contains(key)) << key << " missing in " << b;
  const double step = b["step_s_median"].get<double>();
  ASSERT_GT(step, 0);
  EXPECT_NEAR(b["samples_per_s"].get<double>(), 4 / step, 1e-9 * 4 / step);
  const double tflops = b["model_tflops"].get<double>();
  EXPECT_NEAR(tflops, b["flops_per_sample"].get<double>() * 4 / step / 1e12, 1e-9 * tflops);
  EXPECT_EQ(b["peak_tflops"].get<double>(), 0.5);
  EXPECT_NEAR(b["mfu"].get<double>(), tflops / 0.5, 1e-12 + 1e-9 * tflops);
  EXPECT_GT(b["mfu"].get<double>(), 0);
  const int64_t mem = b["peak_mem_bytes"].get<int64_t>();
  EXPECT_GT(mem, 1 << 20) << "a process holding a model uses more than 1 MiB";
  EXPECT_LT(mem, int64_t{64} << 30);
  EXPECT_NEAR(b["peak_mem_gib"].get<double>(), mem / 1073741824.0, 1e-9);
  double phases = 0;
  for (const std::string& phase : kPhases) {
    const std::string key = phase + "_s_median";
    ASSERT_TRUE(b.contains(key)) << key;
    EXPECT_GE(b[key].get<double>(), 0) << key;
    phases += b[key].get<double>();
  }
  EXPECT_EQ(b["exposed_comm_s_median"].get<double>(), 0) << "bench has no communicator";
  EXPECT_GT(b["forward_s_median"].get<double>(), 0);
  EXPECT_GT(b["backward_s_median"].get<double>(), 0);
  // Medians of the parts need not add up to the median step exactly; they cannot exceed it much.
  // Seven timed steps: with three, one slow step on a loaded machine could leave the median step
  // twice the sum of the phases' medians.
  EXPECT_LE(phases, 1.25 * step + 1e-3) << b;
  EXPECT_GT(phases, 0.5 * step) << b;
  // The printed line is the same JSON; the table goes to stderr.
  const size_t brace = r.output.find("{\"config\"");
  ASSERT_NE(brace, std::string::npos) << r.output;
  const nlohmann::json line =
      nlohmann::json::parse(r.output.substr(brace, r.output.find('\n', brace) - brace));
  EXPECT_EQ(line["mfu"], b["mfu"]);
  EXPECT_NE(r.output.find("exposed_comm"), std::string::npos) << r.output;
  // Warmup and timed steps are all traced; no collectives without a communicator.
  EXPECT_TRUE(CheckTrace(dir + "/trace.json", 0, 8,
                         {"data_wait", "forward", "loss", "backward", "optimizer"})
                  .empty());
  std::filesystem::remove_all(dir);
}

// --op_table_steps: steps after the timed ones with every op's time (ops/op_timeline.h), for the
// machines without Nsight Systems.
TEST(Bench, OpTableListsEveryOpOfAStepWithItsShare) {
  const std::string dir = TempDir("bench_ops");
  ShellResult r =
      Shell(kBinary + " bench --config " + kTiny +
            " --batch 4 --steps 2 --warmup 1 --op_table_steps 2 --out " + dir + "/bench.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json b = ReadJson(dir + "/bench.json");
  ASSERT_TRUE(b.contains("op_table")) << b;
  EXPECT_EQ(b["op_table_steps"].get<int>(), 2);
  double share = 0, previous_ms = 1e30;
  std::map<std::string, double> calls;
  for (const auto& row : b["op_table"]) {
    share += row["share"].get<double>();
    EXPECT_LE(row["ms_per_step"].get<double>(), previous_ms) << "the most time first";
    previous_ms = row["ms_per_step"].get<double>();
    calls[row["op"].get<std::string>()] = row["calls_per_step"].get<double>();
  }
  EXPECT_NEAR(share, 1, 1e-9);
  EXPECT_EQ(calls["AdamWMultiUpdate"], 1) << "one optimizer launch per step";
  EXPECT_GT(calls["LinearForward"], 0);
  EXPECT_GT(calls["LinearBackward"], 0);
  EXPECT_NE(r.output.find("ms/step"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(Train, MetricsAndTraceCarryThePhaseSplitMfuAndMemory) {
  const std::string dir = TempDir("train_profile");
  ShellResult r = Shell(kBinary + " train --config " + kTiny +
                        " --set train.steps=3,train.threads=1 --peak_tflops 2 --out_dir " + dir +
                        "/run --trace " + dir + "/trace.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("MFU"), std::string::npos) << r.output;
  std::ifstream in(dir + "/run/metrics.jsonl");
  std::string text;
  int lines = 0;
  while (std::getline(in, text)) {
    const nlohmann::json m = nlohmann::json::parse(text);
    ++lines;
    for (const char* key :
         {"model_tflops", "mfu", "peak_mem_bytes", "peak_mem_gib", "step_s", "data_s", "forward_s",
          "loss_s", "backward_s", "exposed_comm_s", "optimizer_s", "model_gflops", "samples_per_s"})
      ASSERT_TRUE(m.contains(key)) << key << " missing in " << text;
    const double step = m["step_s"].get<double>();
    double sum = 0;
    for (const char* key :
         {"data_s", "forward_s", "loss_s", "backward_s", "exposed_comm_s", "optimizer_s"}) {
      EXPECT_GE(m[key].get<double>(), 0) << key;
      sum += m[key].get<double>();
    }
    EXPECT_NEAR(sum, step, 1e-6) << "the phases partition the step: " << text;
    const double tflops = m["model_tflops"].get<double>();
    EXPECT_NEAR(tflops * 1e3, m["model_gflops"].get<double>(), 1e-9 * tflops * 1e3);
    EXPECT_NEAR(m["mfu"].get<double>(), tflops / 2, 1e-12 + 1e-9 * tflops);
    EXPECT_GT(m["peak_mem_bytes"].get<int64_t>(), 1 << 20);
    EXPECT_NEAR(m["peak_mem_gib"].get<double>(), m["peak_mem_bytes"].get<double>() / 1073741824.0,
                1e-9);
  }
  EXPECT_EQ(lines, 3);
  const auto collectives = CheckTrace(dir + "/trace.json", 0, 3, kPhases);
  // Per step: the embeddings' gathers, their gradients' reduce-scatters, at least one gradient
  // bucket, the loss terms' and the status all-reduces.
  for (const char* name : {"all_gather query_emb", "all_gather item_emb", "all_gather product_ids",
                           "reduce_scatter d_query_emb", "all_reduce loss_terms",
                           "all_reduce grad_bucket 0", "all_reduce status"})
    EXPECT_EQ(collectives.count(name), 3u) << name;
  std::filesystem::remove_all(dir);
}

TEST(Train, TwoRanksWriteOneTracePerRank) {
  const std::string dir = TempDir("trace_ranks");
  ShellResult r = Shell("timeout 300 " + kMpirun + " -np 2 " + kBinary + " train --config " +
                        kTiny + " --set train.steps=2,train.threads=1 --out_dir " + dir +
                        "/run --trace " + dir + "/t.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/t.json"));
  for (int rank : {0, 1}) {
    const auto collectives =
        CheckTrace(dir + "/t.rank" + std::to_string(rank) + ".json", rank, 2, kPhases);
    EXPECT_EQ(collectives.count("all_gather query_emb"), 2u) << "rank " << rank;
    EXPECT_EQ(collectives.count("all_reduce grad_bucket 0"), 2u) << "rank " << rank;
  }
  std::filesystem::remove_all(dir);
}

TEST(Profile, BadTraceAndPeakFlagsAreClearErrorsBeforeTraining) {
  const std::string dir = TempDir("profile_flags");
  const std::string bad_trace = "/nonexistent_tigerfg_dir/trace.json";
  ShellResult train = Shell(kBinary + " train --config " + kTiny + " --out_dir " + dir +
                            "/run --trace " + bad_trace);
  EXPECT_NE(train.exit_code, 0);
  EXPECT_NE(train.output.find(bad_trace), std::string::npos) << train.output;
  EXPECT_NE(train.output.find("--trace"), std::string::npos) << train.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/metrics.jsonl")) << "no step may have run";
  ShellResult bench =
      Shell(kBinary + " bench --config " + kTiny + " --batch 2 --steps 1 --trace " + bad_trace);
  EXPECT_NE(bench.exit_code, 0);
  EXPECT_NE(bench.output.find(bad_trace), std::string::npos) << bench.output;
  EXPECT_EQ(bench.output.find("step_s_median"), std::string::npos) << bench.output;
  for (const char* peak : {"0", "-5"}) {
    ShellResult b = Shell(kBinary + " bench --config " + kTiny + " --batch 2 --steps 1 " +
                          "--peak_tflops=" + peak);
    EXPECT_NE(b.exit_code, 0) << peak;
    EXPECT_NE(b.output.find("--peak_tflops"), std::string::npos) << b.output;
    ShellResult t = Shell(kBinary + " train --config " + kTiny + " --out_dir " + dir +
                          "/run --peak_tflops=" + peak);
    EXPECT_NE(t.exit_code, 0) << peak;
    EXPECT_NE(t.output.find("--peak_tflops"), std::string::npos) << t.output;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
