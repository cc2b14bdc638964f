// tests/data/tar_reader_test.cc — tar index and reads, truncated shards, shard spec expansion.
#include "runtime/data/tar_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/data/tar_writer.h"
#include "runtime/data/webdataset.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

using testing::TempDir;

TEST(TarReader, IndexesAndReadsMembersByName) {
  TempDir dir;
  const std::string path = dir / "a.tar";
  const std::string long_name = std::string(120, 'd') + "/" + std::string(40, 'f') + ".json";
  const std::string big(1300, 'x');
  TarWriter writer;
  ASSERT_TRUE(writer.Open(path).ok());
  ASSERT_TRUE(writer.Add("k1.json", "{}").ok());
  ASSERT_TRUE(writer.Add("k1.item.jpg", big).ok());
  ASSERT_TRUE(writer.Add(long_name, "long").ok());
  ASSERT_TRUE(writer.Add("empty.txt", "").ok());
  ASSERT_TRUE(writer.Close().ok());

  TarReader reader;
  ASSERT_TRUE(reader.Open(path).ok());
  ASSERT_EQ(reader.members().size(), 4u);
  EXPECT_EQ(reader.members()[0].name, "k1.json");
  EXPECT_EQ(reader.members()[0].offset, 512);
  EXPECT_EQ(reader.members()[1].offset, 512 * 3);  // header, 1 data block, header
  EXPECT_EQ(reader.Read("k1.item.jpg").value(), big);
  EXPECT_EQ(reader.Read(long_name).value(), "long");
  EXPECT_EQ(reader.Read("empty.txt").value(), "");
  StatusOr<std::string> missing = reader.Read("nope.jpg");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("a.tar"), std::string::npos);
}

TEST(TarReader, TruncatedShardIsAnErrorAndKeepsCompleteMembers) {
  TempDir dir;
  const std::string path = dir / "cut.tar";
  TarWriter writer;
  ASSERT_TRUE(writer.Open(path).ok());
  ASSERT_TRUE(writer.Add("a.json", std::string(700, 'a')).ok());  // data ends at 512 + 1024
  ASSERT_TRUE(writer.Add("b.json", std::string(2000, 'b')).ok());
  ASSERT_TRUE(writer.Close().ok());
  std::filesystem::resize_file(path, 512 * 3 + 512 + 900);  // inside b's data

  TarReader reader;
  Status st = reader.Open(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cut.tar"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  ASSERT_EQ(reader.members().size(), 1u);
  EXPECT_EQ(reader.Read("a.json").value(), std::string(700, 'a'));

  std::filesystem::resize_file(path, 512 * 3 + 100);  // inside b's header
  TarReader partial_header;
  EXPECT_FALSE(partial_header.Open(path).ok());
  EXPECT_EQ(partial_header.members().size(), 1u);
}

TEST(TarReader, CorruptHeaderChecksumIsAnError) {
  TempDir dir;
  const std::string path = dir / "bad.tar";
  TarWriter writer;
  ASSERT_TRUE(writer.Open(path).ok());
  ASSERT_TRUE(writer.Add("a.json", "x").ok());
  ASSERT_TRUE(writer.Close().ok());
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  std::fputc('Z', f);  // first byte of the name
  std::fclose(f);
  TarReader reader;
  Status st = reader.Open(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.message();
}

TEST(TarReader, MissingFileIsAnError) {
  TarReader reader;
  EXPECT_FALSE(reader.Open("/nonexistent/shard.tar").ok());
}

TEST(ShardSpecs, ExpandsBracesRangesAndGlobs) {
  EXPECT_EQ(ExpandBraces("s-{08..11}.tar").value(),
            (std::vector<std::string>{"s-08.tar", "s-09.tar", "s-10.tar", "s-11.tar"}));
  EXPECT_EQ(ExpandBraces("{a,b}/x{1..2}").value(),
            (std::vector<std::string>{"a/x1", "a/x2", "b/x1", "b/x2"}));
  EXPECT_FALSE(ExpandBraces("s-{3..1}.tar").ok());
  EXPECT_FALSE(ExpandBraces("s-{1..2.tar").ok());

  TempDir dir;
  for (const char* name : {"shard-001.tar", "shard-000.tar", "other.tar"}) {
    testing::WriteSampleShard(dir / name, 0, 1);
  }
  EXPECT_EQ(ExpandShardSpecs({dir / "shard-*.tar"}).value(),
            (std::vector<std::string>{dir / "shard-000.tar", dir / "shard-001.tar"}));
  EXPECT_EQ(ExpandShardSpecs({dir / "shard-{000..001}.tar", dir / "other.tar"}).value().size(), 3u);
  EXPECT_FALSE(ExpandShardSpecs({dir / "nothing-*.tar"}).ok());
  EXPECT_FALSE(ExpandShardSpecs({dir / "shard-{000..002}.tar"}).ok());
}

TEST(WebDataset, GlobalIndexAndPerSampleErrors) {
  TempDir dir;
  testing::WriteSampleShard(dir / "s0.tar", 0, 3);
  TarWriter writer;
  ASSERT_TRUE(writer.Open(dir / "s1.tar", /*write_index=*/true).ok());
  ASSERT_TRUE(writer.Add("x.query.jpg", "q").ok());  // no item.jpg
  ASSERT_TRUE(writer.Add("x.json", "{\"title\": \"t\", \"product_id\": 1}").ok());
  ASSERT_TRUE(writer.Add("y.query.jpg", "q").ok());
  ASSERT_TRUE(writer.Add("y.item.jpg", "i").ok());
  ASSERT_TRUE(writer.Add("y.json", "{\"title\": \"t\", \"product_id\": ").ok());
  ASSERT_TRUE(writer.Close().ok());

  StatusOr<std::unique_ptr<WebDataset>> ds = WebDataset::Open({dir / "s{0..1}.tar"});
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  ASSERT_EQ((*ds)->size(), 5);
  StatusOr<RawSample> first = (*ds)->Read(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->key, "s00001");
  EXPECT_EQ(first->title, "red shirt 1");
  EXPECT_EQ(first->product_id, 0);
  StatusOr<RawSample> missing = (*ds)->Read(3);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("s1.tar:x"), std::string::npos);
  EXPECT_NE(missing.status().message().find("item.jpg"), std::string::npos);
  StatusOr<RawSample> bad_json = (*ds)->Read(4);
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("s1.tar:y"), std::string::npos);
}

}  // namespace
}  // namespace tigerfg::data
