// tests/core/trace_test.cc — the Chrome trace writer: valid JSON with metadata, steps and their
// phases nested, per-rank file names, and a clear error for an unwritable path.
#include "runtime/core/trace.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/testing/shell.h"

namespace tigerfg::profile {
namespace {

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

StepProfile FakeStep(int64_t step, int64_t start_ns) {
  StepProfile p;
  p.step = step;
  p.start_unix_ns = start_ns;
  p.step_s = 0.010;
  p.spans = {{"data_wait", kPhaseTrack, 0, 1'000'001},
             {"forward", kPhaseTrack, 1'000'001, 6'000'000},
             {"all_gather", kCollectiveTrack, 5'000'000, 7'000'000},
             {"optimizer", kPhaseTrack, 6'000'000, 10'000'000}};
  return p;
}

TEST(TraceWriter, WritesParsableTraceWithNestedPhases) {
  const std::string dir = testing::TempDir("trace");
  const std::string path = dir + "/t.json";
  const int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() +
                           123;
  {
    TraceWriter w;
    ASSERT_TRUE(w.Open(path, 3).ok());
    w.WriteStep(FakeStep(0, start_ns));
    w.WriteStep(FakeStep(1, start_ns + 20'000'000));
    ASSERT_TRUE(w.Close().ok());
  }
  const nlohmann::json trace = ReadJson(path);
  ASSERT_TRUE(trace.contains("traceEvents"));
  int steps = 0, meta = 0, comm = 0;
  for (const auto& e : trace["traceEvents"]) {
    EXPECT_EQ(e["pid"], 3);
    if (e["ph"] == "M") {
      ++meta;
      continue;
    }
    ASSERT_EQ(e["ph"], "X");
    EXPECT_GE(e["dur"].get<double>(), 0);
    if (e["name"].get<std::string>().rfind("step ", 0) == 0) ++steps;
    if (e["tid"] == kCollectiveTrack) ++comm;
  }
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(comm, 2);
  EXPECT_GE(meta, 3);  // process name and both track names
  // Step 0 at its start, to the nanosecond, counted from the origin the file names.
  const auto& events = trace["traceEvents"];
  const auto step0 = std::find_if(events.begin(), events.end(),
                                  [](const auto& e) { return e["name"] == "step 0"; });
  ASSERT_NE(step0, events.end());
  const int64_t origin_s = trace["otherData"]["ts_origin_unix_s"].get<int64_t>();
  EXPECT_EQ(origin_s % 86400, 0);
  EXPECT_NEAR((*step0)["ts"].get<double>(), (start_ns - origin_s * 1'000'000'000) / 1e3, 1e-3);
  EXPECT_NEAR((*step0)["dur"].get<double>(), 10'000.0, 1e-6);
  // The forward phase starts 1'000'001 ns into the step: nanoseconds survive.
  const auto fwd = std::find_if(events.begin(), events.end(),
                                [](const auto& e) { return e["name"] == "forward"; });
  ASSERT_NE(fwd, events.end());
  EXPECT_NEAR((*fwd)["ts"].get<double>() - (*step0)["ts"].get<double>(), 1000.001, 1e-4);
  std::filesystem::remove_all(dir);
}

TEST(TraceWriter, UnwritablePathIsAClearErrorAtOpen) {
  TraceWriter w;
  const Status s = w.Open("/nonexistent_dir_tigerfg/trace.json", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent_dir_tigerfg/trace.json"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("--trace"), std::string::npos) << s.message();
  EXPECT_FALSE(w.is_open());
}

TEST(TraceWriter, UnclosedWriterStillLeavesValidJson) {
  const std::string dir = testing::TempDir("trace_unclosed");
  {
    TraceWriter w;
    ASSERT_TRUE(w.Open(dir + "/t.json", 0).ok());
    w.WriteStep(FakeStep(0, 1000));
  }  // the destructor closes
  EXPECT_NO_THROW(ReadJson(dir + "/t.json"));
  std::filesystem::remove_all(dir);
}

TEST(RankTracePath, InsertsTheRankBeforeTheExtension) {
  EXPECT_EQ(RankTracePath("out/trace.json", 0, 1), "out/trace.json");
  EXPECT_EQ(RankTracePath("out/trace.json", 2, 4), "out/trace.rank2.json");
  EXPECT_EQ(RankTracePath("trace", 1, 2), "trace.rank1");
  EXPECT_EQ(RankTracePath("/a.b/run.trace.json", 0, 2), "/a.b/run.trace.rank0.json");
}

}  // namespace
}  // namespace tigerfg::profile
