// tests/data/loader_test.cc — global order across world sizes, resume from a cursor, bad-sample
// skipping, counting and the stop threshold.
#include "runtime/data/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

using testing::TempDir;

void WriteVocab(const std::string& path) {
  std::ofstream out(path);
  out << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n";
  for (int d = 0; d < 10; ++d) out << d << "\n##" << d << "\n";
}

LoaderOptions SmallOptions(const TempDir& dir, std::vector<std::string> shards) {
  LoaderOptions o;
  o.shards = std::move(shards);
  o.vocab = dir / "vocab.txt";
  WriteVocab(o.vocab);
  o.transform.query_size = 8;
  o.transform.item_size = 12;
  o.transform.max_len = 5;
  o.transform.hflip_prob = 0.5f;
  o.transform.mosaic_prob = 0.5f;
  o.seed = 11;
  o.global_batch = 6;
  o.threads = 0;
  return o;
}

std::vector<float> Row(const Buffer& b, int64_t row) {
  const int64_t n = b.numel() / b.shape()[0];
  return std::vector<float>(b.f32() + row * n, b.f32() + (row + 1) * n);
}
std::vector<int64_t> RowI(const Buffer& b, int64_t row) {
  const int64_t n = b.numel() / b.shape()[0];
  return std::vector<int64_t>(b.i64() + row * n, b.i64() + (row + 1) * n);
}

struct SampleView {
  int64_t position;
  std::vector<float> query, item;
  std::vector<int64_t> title;
  int64_t product;
  bool operator==(const SampleView&) const = default;
};

// The first `steps` global batches as seen by concatenating every rank's slice.
std::vector<SampleView> GlobalSamples(LoaderOptions o, int world, int steps) {
  std::vector<std::unique_ptr<DataLoader>> ranks;
  for (int r = 0; r < world; ++r) {
    o.rank = r;
    o.world = world;
    o.threads = r % 2 == 0 ? 2 : 0;  // threads must not change what a sample sees
    ranks.push_back(DataLoader::Create(o).value());
  }
  std::vector<SampleView> out;
  for (int s = 0; s < steps; ++s) {
    for (auto& loader : ranks) {
      StatusOr<Batch> b = loader->NextBatch();
      CHECK(b.ok()) << b.status().message();
      CHECK_EQ(b->size(), o.global_batch / world);
      for (int64_t i = 0; i < b->size(); ++i) {
        out.push_back({b->first_sample + i, Row(b->query_images, i), Row(b->item_images, i),
                       RowI(b->title_ids, i), b->product_ids.i64()[i]});
      }
    }
  }
  return out;
}

TEST(DataLoader, ConcatenatedRankSlicesMatchAcrossWorldSizes) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a-0.tar", 0, 10);
  testing::WriteSampleShard(dir / "a-1.tar", 10, 7);
  const LoaderOptions o = SmallOptions(dir, {dir / "a-{0..1}.tar"});
  const std::vector<SampleView> one = GlobalSamples(o, 1, 5);  // 30 > 17: crosses an epoch
  ASSERT_EQ(one.size(), 30u);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].position, static_cast<int64_t>(i));
  EXPECT_EQ(GlobalSamples(o, 2, 5), one);
  EXPECT_EQ(GlobalSamples(o, 3, 5), one);

  // Each epoch is a permutation: the first 17 positions hold every product twice (i / 2) ...
  std::multiset<int64_t> products;
  for (int i = 0; i < 17; ++i) products.insert(one[i].product);
  for (int p = 0; p < 8; ++p) EXPECT_EQ(products.count(p), 2u);
  // ... and the title is [CLS] red shirt <digits>.
  EXPECT_EQ(one[0].title[0], 2);
  EXPECT_EQ(one[0].title[1], 3);
  // Another seed gives another order.
  LoaderOptions other = o;
  other.seed = 12;
  std::vector<SampleView> reseeded = GlobalSamples(other, 1, 1);
  bool differs = false;
  for (int i = 0; i < 6; ++i) differs = differs || reseeded[i].product != one[i].product;
  EXPECT_TRUE(differs);
}

TEST(DataLoader, ResumesFromACursor) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a.tar", 0, 13);
  LoaderOptions o = SmallOptions(dir, {dir / "a.tar"});
  o.threads = 2;
  auto full = DataLoader::Create(o).value();
  std::vector<Batch> batches;
  int64_t cursor_after_two = 0;
  for (int s = 0; s < 5; ++s) {
    batches.push_back(full->NextBatch().value());
    if (s == 1) cursor_after_two = full->cursor();
  }
  EXPECT_EQ(cursor_after_two, 12);
  EXPECT_EQ(full->cursor(), 30);
  o.start_cursor = cursor_after_two;
  auto resumed = DataLoader::Create(o).value();
  for (int s = 2; s < 5; ++s) {
    Batch b = resumed->NextBatch().value();
    EXPECT_EQ(b.first_sample, batches[s].first_sample);
    for (int64_t i = 0; i < b.size(); ++i) {
      EXPECT_EQ(Row(b.item_images, i), Row(batches[s].item_images, i)) << "step " << s;
      EXPECT_EQ(b.product_ids.i64()[i], batches[s].product_ids.i64()[i]);
    }
  }
}

// Shard 0: 10 samples, 3 = corrupt query JPEG, 5 = no item.jpg, 8 = malformed JSON.
// Shard 1: sample 14 holds only its query.jpg, what a shard cut inside 14's item.jpg kept when
// training shards were scanned (now a truncated shard is refused at start-up: its index records
// the longer file). product_id = index.
std::set<int64_t> WriteDamagedShards(const TempDir& dir) {
  auto add = [](TarWriter* w, int i, bool query_ok, bool item, bool json_ok, bool json = true) {
    const std::string k = "d" + std::to_string(100 + i);
    const std::string query = testing::Jpeg(testing::CodedImage(i));
    CHECK(w->Add(k + ".query.jpg", query_ok ? query : query.substr(0, 40)).ok());
    if (item) CHECK(w->Add(k + ".item.jpg", testing::Jpeg(testing::CodedImage(i + 1))).ok());
    if (!json) return;
    CHECK(w->Add(k + ".json",
                 json_ok ? "{\"title\": \"red\", \"product_id\": " + std::to_string(i) + "}"
                         : "{\"title\": \"red\", ")
              .ok());
  };
  TarWriter w0;
  CHECK(w0.Open(dir / "bad-0.tar", /*write_index=*/true).ok());
  for (int i = 0; i < 10; ++i) add(&w0, i, i != 3, i != 5, i != 8);
  CHECK(w0.Close().ok());
  TarWriter w1;
  CHECK(w1.Open(dir / "bad-1.tar", /*write_index=*/true).ok());
  for (int i = 10; i < 14; ++i) add(&w1, i, true, true, true);
  add(&w1, 14, true, /*item=*/false, true, /*json=*/false);
  CHECK(w1.Close().ok());
  return {3, 5, 8, 14};
}

TEST(DataLoader, SkipsAndCountsBadSamplesDeterministically) {
  TempDir dir;
  const std::set<int64_t> bad = WriteDamagedShards(dir);
  LoaderOptions o = SmallOptions(dir, {dir / "bad-*.tar"});
  o.global_batch = 5;
  o.max_bad_fraction = 0.5;
  o.bad_check_min_seen = 0;
  auto loader = DataLoader::Create(o).value();
  ASSERT_EQ(loader->dataset_size(), 15);
  int64_t expected_bad = 0;
  for (int s = 0; s < 6; ++s) {
    StatusOr<Batch> b = loader->NextBatch();
    ASSERT_TRUE(b.ok()) << b.status().message();
    for (int64_t i = 0; i < b->size(); ++i) {
      // The replacement is the first good sample at or after the slot's position.
      int64_t q = b->first_sample + i;
      while (bad.count(loader->SampleAt(q))) {
        ++expected_bad;
        ++q;
      }
      EXPECT_EQ(b->product_ids.i64()[i], loader->SampleAt(q));
    }
  }
  EXPECT_EQ(loader->bad_samples(), expected_bad);
  EXPECT_GT(expected_bad, 0);
  EXPECT_EQ(loader->seen_samples(), 30 + expected_bad);
  EXPECT_EQ(loader->cursor(), 30);
}

TEST(DataLoader, StopsWhenBadFractionIsExceeded) {
  TempDir dir;
  WriteDamagedShards(dir);
  LoaderOptions o = SmallOptions(dir, {dir / "bad-*.tar"});
  o.global_batch = 5;
  o.max_bad_fraction = 0.05;  // 4 of 15 are bad
  o.bad_check_min_seen = 0;
  o.threads = 2;
  auto loader = DataLoader::Create(o).value();
  Status failure;
  for (int s = 0; s < 6 && failure.ok(); ++s) {
    StatusOr<Batch> b = loader->NextBatch();
    if (!b.ok()) failure = b.status();
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.message().find("max_bad_fraction"), std::string::npos) << failure.message();
  EXPECT_NE(failure.message().find("bad-"), std::string::npos) << failure.message();
  EXPECT_FALSE(loader->NextBatch().ok());

  // A budget over max(seen, bad_check_min_seen) lets the same data through.
  o.bad_check_min_seen = 1000;
  auto lenient = DataLoader::Create(o).value();
  for (int s = 0; s < 6; ++s) ASSERT_TRUE(lenient->NextBatch().ok());
}

TEST(DataLoader, RejectsBadOptions) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a.tar", 0, 4);
  LoaderOptions o = SmallOptions(dir, {dir / "a.tar"});
  o.world = 4;
  o.global_batch = 6;
  EXPECT_FALSE(DataLoader::Create(o).ok());
  o = SmallOptions(dir, {dir / "a.tar"});
  o.vocab_limit = 10;
  EXPECT_FALSE(DataLoader::Create(o).ok());
  o = SmallOptions(dir, {dir / "missing-*.tar"});
  EXPECT_FALSE(DataLoader::Create(o).ok());
}

// Twelve shards of 5 samples: more shards than a small max_open_shards, windows smaller than the
// corpus, so the order crosses shards and windows within a few steps.
std::vector<std::string> WriteManyShards(const TempDir& dir, int shards = 12, int per_shard = 5) {
  for (int s = 0; s < shards; ++s) {
    testing::WriteSampleShard(dir / ("m-" + std::to_string(100 + s) + ".tar"), s * per_shard,
                              per_shard);
  }
  return {dir / "m-*.tar"};
}

TEST(DataLoader, MissingIndexIsRefusedNamingTheShardAndTheFix) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a-0.tar", 0, 4);
  testing::WriteSampleShard(dir / "a-1.tar", 4, 4, /*write_index=*/false);
  StatusOr<std::unique_ptr<DataLoader>> loader =
      DataLoader::Create(SmallOptions(dir, {dir / "a-*.tar"}));
  ASSERT_FALSE(loader.ok());
  EXPECT_NE(loader.status().message().find(dir / "a-1.tar"), std::string::npos)
      << loader.status().message();
  EXPECT_NE(loader.status().message().find("tigerfg data index"), std::string::npos)
      << loader.status().message();
  // Evaluation sets need them too.
  std::filesystem::create_directories(dir / "eval");
  testing::WriteSampleShard(dir / "eval/gallery-0.tar", 0, 2, /*write_index=*/false);
  StatusOr<std::unique_ptr<EvalSet>> gallery =
      EvalSet::Open(dir / "eval", EvalPart::kGallery, SmallOptions(dir, {dir / "a-0.tar"}));
  ASSERT_FALSE(gallery.ok());
  EXPECT_NE(gallery.status().message().find("gallery-0.tar"), std::string::npos);
}

// The two-level order with small windows over many shards, read at W = 1, 2, 4 (threads on some
// ranks): the same samples, augmentation included, in the same global order.
TEST(DataLoader, WindowOrderIsWorldSizeInvariant) {
  TempDir dir;
  LoaderOptions o = SmallOptions(dir, WriteManyShards(dir));
  o.shuffle_window = 7;
  o.global_batch = 8;
  o.max_open_shards = 3;
  const std::vector<SampleView> one = GlobalSamples(o, 1, 9);  // 72 > 60: crosses an epoch
  EXPECT_EQ(GlobalSamples(o, 2, 9), one);
  EXPECT_EQ(GlobalSamples(o, 4, 9), one);
  // Every sample once per epoch (product_id = index / 2: each product twice in 60).
  std::multiset<int64_t> products;
  for (int i = 0; i < 60; ++i) products.insert(one[i].product);
  for (int p = 0; p < 30; ++p) EXPECT_EQ(products.count(p), 2u) << p;
  // SampleAt of every rank's loader agrees with rank 0's of W = 1.
  auto reference = DataLoader::Create(o).value();
  for (int world : {2, 4}) {
    o.world = world;
    o.rank = world - 1;
    auto rank = DataLoader::Create(o).value();
    for (int64_t q : {0, 5, 59, 60, 61, 119, 300})
      EXPECT_EQ(rank->SampleAt(q), reference->SampleAt(q));
  }
}

TEST(DataLoader, ResumesAtAnArbitraryCursorInTheWindowOrder) {
  TempDir dir;
  LoaderOptions o = SmallOptions(dir, WriteManyShards(dir));
  o.shuffle_window = 9;
  o.global_batch = 4;
  const std::vector<SampleView> straight = GlobalSamples(o, 1, 40);  // 160 positions
  for (int64_t cursor : {4, 6, 28, 57, 60, 64, 116}) {
    LoaderOptions r = o;
    r.start_cursor = cursor;
    const std::vector<SampleView> resumed = GlobalSamples(r, 2, (160 - cursor) / 4);
    EXPECT_EQ(resumed, std::vector<SampleView>(straight.begin() + cursor,
                                               straight.begin() + cursor + resumed.size()))
        << "cursor " << cursor;
  }
}

// More shards than data.max_open_shards: never more open at once, the same batches as a run
// with every shard open.
TEST(DataLoader, OpenShardsStayWithinTheCap) {
  TempDir dir;
  LoaderOptions o = SmallOptions(dir, WriteManyShards(dir));
  o.shuffle_window = 11;
  o.global_batch = 6;
  o.threads = 2;
  auto read = [&](int cap, int* peak) {
    LoaderOptions c = o;
    c.max_open_shards = cap;
    auto loader = DataLoader::Create(c).value();
    std::vector<std::vector<float>> items;
    for (int s = 0; s < 25; ++s) {  // 150 samples: 2.5 epochs
      Batch b = loader->NextBatch().value();
      for (int64_t i = 0; i < b.size(); ++i) items.push_back(Row(b.item_images, i));
    }
    *peak = loader->dataset().peak_open_shards();
    // The process's own file descriptors agree: no more shard files open than the cache holds.
    int open_files = 0;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
      open_files += !ec && target.find(dir / "m-") == 0;
    }
    EXPECT_GT(open_files, 0);
    EXPECT_LE(open_files, cap);
    return items;
  };
  int capped_peak = 0, open_peak = 0;
  const auto capped = read(4, &capped_peak);
  const auto uncapped = read(64, &open_peak);
  EXPECT_EQ(capped, uncapped);
  EXPECT_LE(capped_peak, 4);
  EXPECT_EQ(open_peak, 12);  // the uncapped run did open every shard: the cap mattered
  EXPECT_EQ(o.max_open_shards, 64);
}

TEST(DataLoader, OrderTablesDoNotGrowWithTheCorpus) {
  TempDir dir;
  LoaderOptions o = SmallOptions(dir, WriteManyShards(dir, /*shards=*/4, /*per_shard=*/8));
  o.shuffle_window = 16;
  auto small = DataLoader::Create(o).value();
  TempDir big_dir;
  LoaderOptions big = SmallOptions(big_dir, WriteManyShards(big_dir, 4, 40));
  big.shuffle_window = 16;
  auto large = DataLoader::Create(big).value();
  for (int s = 0; s < 3; ++s) {
    ASSERT_TRUE(small->NextBatch().ok());
    ASSERT_TRUE(large->NextBatch().ok());
  }
  EXPECT_EQ(small->order_footprint_bytes(), large->order_footprint_bytes());
}

TEST(DataLoader, RejectsBadWindowAndOpenShardLimits) {
  TempDir dir;
  testing::WriteSampleShard(dir / "a.tar", 0, 4);
  LoaderOptions o = SmallOptions(dir, {dir / "a.tar"});
  o.shuffle_window = 0;
  StatusOr<std::unique_ptr<DataLoader>> bad = DataLoader::Create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("data.shuffle_window"), std::string::npos);
  o = SmallOptions(dir, {dir / "a.tar"});
  o.max_open_shards = 0;
  bad = DataLoader::Create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("data.max_open_shards"), std::string::npos);
}

}  // namespace
}  // namespace tigerfg::data
