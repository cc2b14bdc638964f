// tests/data/shard_index_test.cc — SHARD.idx: written by TarWriter and WriteShardIndexes, read
// by the dataset instead of a scan, and refused (naming the file) when it does not fit the shard.
#include "runtime/data/shard_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "runtime/data/tar_writer.h"
#include "runtime/data/webdataset.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Opens `specs` as a dataset that must fail; the message must hold every one of `parts`.
void ExpectRefused(const std::vector<std::string>& specs, const std::vector<std::string>& parts) {
  StatusOr<std::unique_ptr<WebDataset>> ds = WebDataset::Open(specs);
  ASSERT_FALSE(ds.ok());
  for (const std::string& part : parts) {
    EXPECT_NE(ds.status().message().find(part), std::string::npos)
        << "'" << part << "' not in: " << ds.status().message();
  }
}

TEST(ShardIndex, WrittenIndexMatchesTheScanAndHoldsProductIds) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 3, /*write_index=*/false);
  StatusOr<int64_t> members = WriteShardIndexes({dir / "s*.tar"});
  ASSERT_TRUE(members.ok()) << members.status().message();
  EXPECT_EQ(*members, 9);
  StatusOr<ShardIndex> index = ReadShardIndex(dir / "s0.tar.idx");
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(index->shard_name, "s0.tar");
  EXPECT_EQ(index->shard_size, static_cast<int64_t>(fs::file_size(dir / "s0.tar")));
  TarReader scan;
  ASSERT_TRUE(scan.Open(dir / "s0.tar").ok());
  ASSERT_EQ(index->members.size(), scan.members().size());
  for (size_t i = 0; i < scan.members().size(); ++i) {
    EXPECT_EQ(index->members[i].name, scan.members()[i].name);
    EXPECT_EQ(index->members[i].offset, scan.members()[i].offset);
    EXPECT_EQ(index->members[i].size, scan.members()[i].size);
  }
  // WriteSampleShard: product_id = index / 2.
  EXPECT_EQ(index->product_ids, (std::vector<std::pair<std::string, int64_t>>{
                                    {"s00000", 0}, {"s00001", 0}, {"s00002", 1}}));
  // A glob over the folder does not take the index for a shard.
  EXPECT_EQ(ExpandShardSpecs({dir / "*"}).value(), std::vector<std::string>{dir / "s0.tar"});
}

TEST(ShardIndex, TarWriterWritesItOnClose) {
  TempDir dir;
  TarWriter writer;
  ASSERT_TRUE(writer.Open(dir / "w.tar", /*write_index=*/true).ok());
  ASSERT_TRUE(writer.Add("k.json", "{\"title\": \"t\", \"product_id\": 42}").ok());
  ASSERT_TRUE(writer.Close().ok());
  StatusOr<ShardIndex> index = ReadShardIndex(dir / "w.tar.idx");
  ASSERT_TRUE(index.ok()) << index.status().message();
  ASSERT_EQ(index->members.size(), 1u);
  EXPECT_EQ(index->product_ids, (std::vector<std::pair<std::string, int64_t>>{{"k", 42}}));
}

// The dataset reads the index and does not scan: a header damaged after indexing (size and mtime
// kept) would fail a scan but not an indexed open, and the samples read the same.
TEST(ShardIndex, DatasetOpensThroughTheIndexWithoutScanning) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 4, /*write_index=*/false);
  // Read before the damage: a scanned shard is opened (scanned again) when first read.
  const auto scanned =
      WebDataset::Open({dir / "s0.tar"}, kTrainParts, {.require_index = false}).value();
  std::vector<RawSample> scanned_samples;
  for (int64_t i = 0; i < scanned->size(); ++i) scanned_samples.push_back(scanned->Read(i).value());
  ASSERT_TRUE(WriteShardIndex(dir / "s0.tar").ok());
  const fs::file_time_type mtime = fs::last_write_time(dir / "s0.tar");
  {
    std::fstream f(dir / "s0.tar", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(148);  // the first header's checksum
    f.put('9');
  }
  fs::last_write_time(dir / "s0.tar", mtime);
  TarReader scan;
  ASSERT_FALSE(scan.Open(dir / "s0.tar").ok());
  StatusOr<std::unique_ptr<WebDataset>> indexed = WebDataset::Open({dir / "s0.tar"});
  ASSERT_TRUE(indexed.ok()) << indexed.status().message();
  ASSERT_EQ((*indexed)->size(), scanned->size());
  for (int64_t i = 0; i < scanned->size(); ++i) {
    RawSample a = scanned_samples[i], b = (*indexed)->Read(i).value();
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.item_jpeg, b.item_jpeg);
    EXPECT_EQ(a.product_id, b.product_id);
  }
}

TEST(ShardIndex, StaleIndexIsRefused) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 2, /*write_index=*/false);
  ASSERT_TRUE(WriteShardIndex(dir / "s0.tar").ok());
  fs::last_write_time(dir / "s0.tar",
                      fs::last_write_time(dir / "s0.tar") + std::chrono::seconds(5));
  ExpectRefused({dir / "s0.tar"}, {dir / "s0.tar.idx", "stale", "tigerfg data index"});

  testing::WriteSampleShard(dir / "s0.tar", 0, 3,
                            /*write_index=*/false);  // rewritten: longer, new mtime
  ExpectRefused({dir / "s0.tar"}, {dir / "s0.tar.idx", "stale"});
  ASSERT_TRUE(WriteShardIndexes({dir / "s0.tar"}).ok());  // re-indexed: accepted
  EXPECT_EQ(WebDataset::Open({dir / "s0.tar"}).value()->size(), 3);
}

TEST(ShardIndex, IndexOfAnotherShardIsRefused) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a.tar", 0, 2, /*write_index=*/false);
  testing::WriteSampleShard(dir / "b.tar", 2, 2, /*write_index=*/false);
  ASSERT_TRUE(WriteShardIndexes({dir / "{a,b}.tar"}).ok());
  fs::copy_file(dir / "b.tar.idx", dir / "a.tar.idx", fs::copy_options::overwrite_existing);
  ExpectRefused({dir / "a.tar"}, {dir / "a.tar.idx", "another shard", "'b.tar'"});
}

TEST(ShardIndex, ShardShorterThanItsIndexIsRefused) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 3, /*write_index=*/false);
  ASSERT_TRUE(WriteShardIndex(dir / "s0.tar").ok());
  fs::resize_file(dir / "s0.tar", fs::file_size(dir / "s0.tar") - 2000);
  ExpectRefused({dir / "s0.tar"}, {dir / "s0.tar", "shorter", "s0.tar.idx"});
}

TEST(ShardIndex, MalformedIndexIsRefused) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 2, /*write_index=*/false);
  ASSERT_TRUE(WriteShardIndex(dir / "s0.tar").ok());
  std::ifstream in(dir / "s0.tar.idx");
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t members = good.find("members ");
  const std::string cases[] = {
      "",
      "garbage\n",
      good.substr(0, good.size() - 4),                    // no "end"
      good.substr(0, members) + "members 99999999999\n",  // count past the file
      good.substr(0, members) + "members 1\nx 1 a.json\nsamples 0\nend\n",
      good.substr(0, members) + "members 1\n512 -1 a.json\nsamples 0\nend\n",
      good.substr(0, members) + "members 1\n1 99999999999 a.json\nsamples 0\nend\n",
      good + "extra\n",
  };
  for (const std::string& text : cases) {
    std::ofstream(dir / "s0.tar.idx", std::ios::binary) << text;
    ExpectRefused({dir / "s0.tar"}, {dir / "s0.tar.idx"});
  }
}

// Start-up reads only the header: a member line damaged after indexing (the file's size kept)
// is found when the shard is first read, and the error names the index.
TEST(ShardIndex, TheBodyIsReadWhenTheShardIsFirstRead) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 2, /*write_index=*/false);
  ASSERT_TRUE(WriteShardIndex(dir / "s0.tar").ok());
  {
    std::fstream f(dir / "s0.tar.idx", std::ios::in | std::ios::out | std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t member = text.find("\n", text.find("members ")) + 1;
    f.seekp(static_cast<std::streamoff>(member));
    f.put('x');  // "x12 629 s00000.query.jpg": not a number
  }
  StatusOr<std::unique_ptr<WebDataset>> ds = WebDataset::Open({dir / "s0.tar"});
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_EQ((*ds)->size(), 2);
  EXPECT_EQ((*ds)->open_shards(), 0);
  StatusOr<RawSample> sample = (*ds)->Read(0);
  ASSERT_FALSE(sample.ok());
  EXPECT_NE(sample.status().message().find(dir / "s0.tar.idx"), std::string::npos)
      << sample.status().message();
}

TEST(ShardIndex, UnscannableShardIsNotIndexed) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 2, /*write_index=*/false);
  fs::resize_file(dir / "s0.tar", 700);
  Status st = WriteShardIndex(dir / "s0.tar");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("s0.tar"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(dir / "s0.tar.idx"));
}

}  // namespace
}  // namespace tigerfg::data
