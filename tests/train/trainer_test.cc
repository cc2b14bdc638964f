// tests/train/trainer_test.cc — the trainer fetches each step's batch while the step before it
// runs: a data failure found that way still lets the step before end, be logged and checkpointed,
// and is reported at its own step.
#include "runtime/train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "comm/local_communicator.h"
#include "configs/config.h"
#include "runtime/data/tar_writer.h"
#include "tests/data/test_data.h"

namespace tigerfg::train {
namespace {

namespace fs = std::filesystem;

int CountLines(const std::string& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// 128 samples whose images are not JPEGs: more bad samples in a row than the loader replaces.
void WriteBadShard(const std::string& path) {
  data::TarWriter writer;
  ASSERT_TRUE(writer.Open(path, /*write_index=*/true).ok());
  for (int i = 0; i < 128; ++i) {
    const std::string key = "bad" + std::to_string(1000 + i);
    ASSERT_TRUE(writer.Add(key + ".query.jpg", "not a jpeg").ok());
    ASSERT_TRUE(writer.Add(key + ".item.jpg", "not a jpeg").ok());
    ASSERT_TRUE(writer.Add(key + ".json", "{\"title\": \"red\", \"product_id\": 1}").ok());
  }
  ASSERT_TRUE(writer.Close().ok());
}

TEST(Trainer, ADataFailureFetchedAheadEndsTheRunAfterThePreviousStepIsSaved) {
  data::testing::TempDir dir;
  // The seed's shard order reads the good shard (one global batch) first: step 0 trains on it and
  // step 1's batch, fetched while step 0 runs, finds only bad samples.
  data::testing::WriteSampleShard(dir / "good.tar", 0, 8);
  WriteBadShard(dir / "bad.tar");
  std::ofstream(dir / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n";
  auto cfg = config::LoadConfig(
      std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt",
      "train.threads=1,train.steps=3,train.global_batch=8,train.checkpoint_every=1,train.seed=0,"
      "data.loader_threads=0,data.shuffle_window=8,data.train_shards=" +
          (dir / "good.tar") + ";" + (dir / "bad.tar") + ",data.vocab=" + (dir / "vocab.txt"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  TrainOptions options;
  options.out_dir = dir / "out";
  comm::LocalCommunicator local;
  auto summary = Train(*cfg, options, &local, Context::Cpu());
  ASSERT_FALSE(summary.ok());
  const std::string message = summary.status().message();
  EXPECT_NE(message.find("step 1: data: 64 bad samples in a row"), std::string::npos) << message;
  EXPECT_EQ(CountLines(dir / "out/metrics.jsonl"), 1) << "step 0 is logged";
  EXPECT_TRUE(fs::exists(dir / "out/checkpoints/step-00000001")) << "step 0 is checkpointed";
}

}  // namespace
}  // namespace tigerfg::train
