// tests/e2e/skipped_samples_test.cc — bad samples in the shards: the loaders' skips appear in
// metrics.jsonl and the final line, and the budget (data.max_bad_fraction) is counted over the
// whole job, so the count and the verdict do not depend on the world size.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/data/test_data.h"
#include "tests/testing/shell.h"

namespace {

namespace fs = std::filesystem;
using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;

const std::string kBinary = TIGERFG_BINARY;
const std::string kMpirun = std::string(TIGERFG_MPIEXEC) + " --oversubscribe --allow-run-as-root";
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

// 64 samples; every 8th has a truncated query image (1 in 8 bad).
void WriteShards(const std::string& dir) {
  std::ofstream(dir + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n";
  tigerfg::data::TarWriter writer;
  ASSERT_TRUE(writer.Open(dir + "/s-0.tar", /*write_index=*/true).ok());
  for (int i = 0; i < 64; ++i) {
    const std::string key = "k" + std::to_string(1000 + i);
    namespace td = tigerfg::data::testing;
    const std::string query = td::Jpeg(td::CodedImage(i));
    ASSERT_TRUE(writer.Add(key + ".query.jpg", i % 8 == 3 ? query.substr(0, 40) : query).ok());
    ASSERT_TRUE(writer.Add(key + ".item.jpg", td::Jpeg(td::CodedImage(i + 1))).ok());
    ASSERT_TRUE(writer
                    .Add(key + ".json",
                         "{\"title\": \"red shirt\", \"product_id\": " + std::to_string(i) + "}")
                    .ok());
  }
  ASSERT_TRUE(writer.Close().ok());
}

std::vector<int64_t> SkippedPerStep(const std::string& out) {
  std::vector<int64_t> skipped;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto rec = nlohmann::json::parse(line);
    skipped.push_back(rec.contains("skipped_samples") ? rec["skipped_samples"].get<int64_t>() : -1);
  }
  return skipped;
}

TEST(SkippedSamples, CountedOverTheJobInMetricsAndTheFinalLine) {
  tigerfg::data::testing::TempDir dir;
  WriteShards(dir.path());
  const std::string train = kBinary + " train --config " + kTiny +
                            " --set train.threads=1,train.steps=6,train.global_batch=8,"
                            "data.train_shards=" +
                            dir.path() + "/s-0.tar,data.vocab=" + dir.path() +
                            "/vocab.txt,data.loader_threads=0,data.bad_check_min_seen=0,"
                            // Windows of 8 hold one bad sample each (i % 8 == 3): every step
                            // sees about the job's 1-in-8, not a cluster the 0.2 budget stops.
                            "data.shuffle_window=8";
  ShellResult one = Shell(train + ",data.max_bad_fraction=0.2 --out_dir " + dir.path() + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::vector<int64_t> skipped = SkippedPerStep(dir.path() + "/one");
  ASSERT_EQ(skipped.size(), 6u);
  EXPECT_GT(skipped.back(), 0);
  EXPECT_NE(one.output.find(std::to_string(skipped.back()) + " samples skipped"), std::string::npos)
      << one.output;
  // Two ranks: the same counts at every step (the job's, not rank 0's).
  ShellResult two = Shell(kMpirun + " -np 2 " + train + ",data.max_bad_fraction=0.2 --out_dir " +
                          dir.path() + "/two");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(SkippedPerStep(dir.path() + "/two"), skipped);
  // A budget below the job's fraction stops both world sizes, naming it.
  for (const std::string& launch : {std::string(), kMpirun + " -np 2 "}) {
    ShellResult stopped = Shell(launch + train + ",data.max_bad_fraction=0.01 --out_dir " +
                                dir.path() + "/stop" + std::to_string(launch.size()));
    EXPECT_NE(stopped.exit_code, 0) << stopped.output;
    EXPECT_NE(stopped.output.find("read by all ranks exceed data.max_bad_fraction"),
              std::string::npos)
        << stopped.output;
  }
}

}  // namespace
