// tests/fmnist/fmnist_test.cc — a small Fashion-MNIST benchmark build: deterministic by seed,
// readable by the loader and the evaluation reader, titles covered by its vocab.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "runtime/fmnist/fmnist_benchmark.h"
#include "runtime/data/loader.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

namespace fs = std::filesystem;
constexpr char kSource[] = "/usr/share/datasets/fashion-mnist";

FmnistOptions Small(const std::string& out, uint64_t seed) {
  FmnistOptions o;
  o.out_dir = out;
  o.seed = seed;
  o.image_size = 32;
  o.query_size = 24;
  o.train_listings = 60;
  o.eval_queries = 20;
  o.eval_gallery = 30;
  o.shard_size = 25;
  o.max_source_images = 300;
  return o;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(FmnistBenchmark, SmallBuildIsDeterministicAndReadable) {
  if (!fs::exists(std::string(kSource) + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  testing::TempDir dir;
  StatusOr<FmnistReport> a = BuildFmnistBenchmark(Small(dir / "a", 7));
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(BuildFmnistBenchmark(Small(dir / "b", 7)).ok());
  ASSERT_TRUE(BuildFmnistBenchmark(Small(dir / "c", 8)).ok());
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "a")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const fs::path rel = fs::relative(entry.path(), dir / "a");
    EXPECT_EQ(Slurp(entry.path()), Slurp(fs::path(dir / "b") / rel)) << rel;
  }
  EXPECT_EQ(files, 3u + 2u * (2u + 1u) + 2u);  // train, 2 x (gallery, queries), vocab, stats
  EXPECT_NE(Slurp(dir / "a/train/shard-000000.tar"), Slurp(dir / "c/train/shard-000000.tar"));

  // Clutter measures: none in the normal layout, 2-4 distractors and a smaller target otherwise.
  ASSERT_EQ(a->sets.size(), 3u);
  const FmnistSetStats& normal = a->sets[1];
  const FmnistSetStats& cluttered = a->sets[2];
  EXPECT_EQ(normal.mean_distractors, 0);
  EXPECT_GE(cluttered.mean_distractors, 2);
  EXPECT_LE(cluttered.mean_distractors, 4);
  EXPECT_GT(normal.mean_target_area, cluttered.mean_target_area);
  const nlohmann::json stats = nlohmann::json::parse(Slurp(dir / "a/stats.json"));
  EXPECT_EQ(stats["sets"]["eval_cluttered"]["listings"], 30);

  // Every title tokenises without [UNK]; products have several listings.
  WordPieceTokenizer vocab = WordPieceTokenizer::Load(dir / "a/vocab.txt").value();
  EXPECT_EQ(vocab.vocab_size(), a->vocab_size);
  auto train = WebDataset::Open({dir / "a/train/shard-*.tar"}).value();
  ASSERT_EQ(train->size(), 60);
  std::map<int64_t, int> listings;
  for (int64_t i = 0; i < train->size(); ++i) {
    RawSample s = train->Read(i).value();
    ++listings[s.product_id];
    for (int64_t id : vocab.Encode(s.title, 64)) EXPECT_NE(id, vocab.unk_id()) << s.title;
  }
  EXPECT_EQ(listings.size(), 20u);
  for (const auto& [product, count] : listings) EXPECT_EQ(count, 3);

  // The loader and the evaluation reader take the build as it is.
  LoaderOptions o;
  o.shards = {dir / "a/train/shard-{000000..000002}.tar"};
  o.vocab = dir / "a/vocab.txt";
  o.transform.query_size = 16;
  o.transform.item_size = 32;
  o.transform.max_len = 16;
  o.global_batch = 8;
  auto loader = DataLoader::Create(o).value();
  EXPECT_EQ(loader->NextBatch().value().size(), 8);
  EXPECT_EQ(loader->bad_samples(), 0);

  auto queries = EvalSet::Open(dir / "a/eval_normal", EvalPart::kQueries, o).value();
  auto gallery = EvalSet::Open(dir / "a/eval_normal", EvalPart::kGallery, o).value();
  ASSERT_EQ(queries->size(), 20);
  ASSERT_EQ(gallery->size(), 30);
  Batch q = queries->Read(0, 20).value();
  Batch g = gallery->Read(0, 30).value();
  EXPECT_EQ(q.query_images.shape(), Shape({20, 3, 16, 16}));
  EXPECT_EQ(g.item_images.shape(), Shape({30, 3, 32, 32}));
  std::set<int64_t> gallery_products(g.product_ids.i64(), g.product_ids.i64() + 30);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(gallery_products.count(q.product_ids.i64()[i])) << "query " << i;
    EXPECT_GE(q.product_ids.i64()[i], 1'000'000);
  }
  EXPECT_FALSE(queries->Read(10, 30).ok());
}

}  // namespace
}  // namespace tigerfg::data
