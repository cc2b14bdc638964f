// tests/fmnist/fmnist_test.cc — a small Fashion-MNIST benchmark build: deterministic by seed,
// readable by the loader and the evaluation reader, titles covered by its vocab.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "runtime/data/loader.h"
#include "runtime/data/shard_index.h"
#include "runtime/data/tar_reader.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"
#include "runtime/fmnist/fmnist_benchmark.h"
#include "runtime/fmnist/fmnist_clutter.h"
#include "runtime/fmnist/fmnist_render.h"
#include "runtime/fmnist/fmnist_titles.h"
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
  o.generic_train = false;  // the generic-title copy has its own test
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
  // Datasets read shards through their indexes (`tigerfg data fmnist` writes them).
  const std::vector<std::string> shards = {dir / "a/train/*.tar", dir / "a/eval_*/*.tar"};
  const StatusOr<int64_t> indexed = WriteShardIndexes(shards);
  ASSERT_TRUE(indexed.ok()) << indexed.status().message();
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

bool HaveSource() { return fs::exists(std::string(kSource) + "/t10k-images-idx3-ubyte.gz"); }

FmnistSource TestSource() {
  return LoadFmnistIdx(std::string(kSource) + "/t10k-images-idx3-ubyte.gz",
                       std::string(kSource) + "/t10k-labels-idx1-ubyte.gz", 400)
      .value();
}

// Every distractor shares exactly one of the target's visible attributes, and the first two
// cover both kinds: only the title's combination names the target.
TEST(FmnistClutter, DistractorsShareExactlyOneAttribute) {
  if (!HaveSource()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const FmnistSource source = TestSource();
  const std::vector<int64_t> excluded = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const DistractorPool pool = DistractorPool::From(source, excluded);
  for (uint64_t trial = 0; trial < 200; ++trial) {
    Rng rng(11, trial);
    const ProductLook target{static_cast<int64_t>(trial % 10), static_cast<int>(trial % 4)};
    const std::vector<Distractor> ds = DrawDistractors(source, pool, target, &rng);
    ASSERT_GE(ds.size(), 2u);
    ASSERT_LE(ds.size(), 3u);
    EXPECT_EQ(ds[0].shares, SharedAttribute::kCategory);
    EXPECT_EQ(ds[1].shares, SharedAttribute::kColour);
    for (const Distractor& d : ds) {
      const bool same_category = source.labels[d.look.source] == source.labels[target.source];
      const bool same_colour = d.look.colour == target.colour;
      EXPECT_NE(same_category, same_colour) << "trial " << trial;  // exactly one shared
      EXPECT_EQ(same_category, d.shares == SharedAttribute::kCategory);
      // Disjoint from the excluded (evaluation product) articles, the target's included.
      EXPECT_GE(d.look.source, 10) << "trial " << trial;
    }
  }
}

// Cluttered listings put every object in a quadrant of its own: the target's pixels stay inside
// its cell, which lies in one quadrant (2x2 patches of 16 px at 64 px).
TEST(FmnistRender, ClutteredObjectsTakeOneQuadrantEach) {
  if (!HaveSource()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const FmnistSource source = TestSource();
  for (uint64_t trial = 0; trial < 50; ++trial) {
    Rng rng(3, trial);
    const std::vector<ProductLook> distractors = {{20, 1}, {21, 2}, {22, 3}};
    const RenderedListing l = RenderListing(source, {23, 0}, distractors, 64, &rng);
    const Box& c = l.target_cell;
    EXPECT_EQ(c.y0 / 32, (c.y1 - 1) / 32) << "trial " << trial;
    EXPECT_EQ(c.x0 / 32, (c.x1 - 1) / 32) << "trial " << trial;
    EXPECT_GE(c.y1 - c.y0, 24);
    EXPECT_GE(l.target_box.y0, c.y0);
    EXPECT_LE(l.target_box.y1, c.y1);
    EXPECT_GE(l.target_box.x0, c.x0);
    EXPECT_LE(l.target_box.x1, c.x1);
    EXPECT_GT(l.target_area, 0.02);
  }
}

// A query is another view of the product: mirrored, lighter or darker, tinted.
TEST(FmnistRender, QueryViewDiffersFromTheProductPhoto) {
  if (!HaveSource()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const FmnistSource source = TestSource();
  int flips = 0;
  double lo = 2, hi = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    Rng rng(5, i);
    const QueryView v = DrawQueryView(&rng);
    flips += v.flip;
    lo = std::min(lo, v.brightness);
    hi = std::max(hi, v.brightness);
    for (int s : v.tint_shift) EXPECT_LE(std::abs(s), 20);
  }
  EXPECT_GT(flips, 60);
  EXPECT_LT(flips, 140);
  EXPECT_GE(lo, 0.8);
  EXPECT_LE(hi, 1.2);
  EXPECT_LT(lo, 0.85);
  EXPECT_GT(hi, 1.15);
  const ProductLook product{30, 1};
  auto render = [&](const QueryView& view) {
    Rng rng(9, 0);  // the same background, placement and crop for every view
    return RenderQuery(source, product, view, 64, 64, &rng).pixels;
  };
  const std::vector<uint8_t> plain = render(QueryView{});
  QueryView flipped, darker;
  flipped.flip = true;
  darker.brightness = 0.8;
  darker.tint_shift[2] = 20;
  EXPECT_EQ(render(QueryView{}), plain);
  EXPECT_NE(render(flipped), plain);
  EXPECT_NE(render(darker), plain);
}

// The text-only oracle on a hand-made catalogue: products 0, 1 share colour and category, 2
// differs; 2 listings each. A query of product 0 finds 4 matching listings, 2 hits: 0.5; a
// query of product 2: 2 of 2.
TEST(FmnistClutter, TextOracleOnAHandMadeCatalogue) {
  const std::vector<VisibleAttributes> attributes = {{1, 4}, {1, 4}, {2, 4}};
  const TextOracle o = ScoreTextOracle(attributes, {0, 2}, {0, 1, 2, 0, 1, 2});
  EXPECT_DOUBLE_EQ(o.recall_at_1, (0.5 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(o.matching_listings, (4 + 2) / 2.0);
  EXPECT_DOUBLE_EQ(o.matching_products, (2 + 1) / 2.0);
}

// The build: listings record the target's box and cell, the distractors' attributes (each
// sharing one of the target's), the generic-title training copy has the same images, and the
// text-only oracle is far from pinning the product.
TEST(FmnistBenchmark, ListingsRecordTargetsAndGenericCopy) {
  if (!HaveSource()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  testing::TempDir dir;
  FmnistOptions o = Small(dir / "a", 3);
  o.generic_train = true;
  o.max_source_images = 1000;
  o.eval_gallery = 600;  // 200 products, 5 per (colour, category) on average
  o.eval_queries = 40;
  o.shard_size = 600;
  StatusOr<FmnistReport> r = BuildFmnistBenchmark(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NEAR(r->chance_at_1, 3.0 / 600, 1e-12);
  EXPECT_GT(r->text_oracle_at_1, r->chance_at_1);
  EXPECT_LT(r->text_oracle_at_1, 0.4);
  EXPECT_GT(r->matching_products, 3);
  const FmnistSetStats& cluttered = r->sets[2];
  EXPECT_NEAR(cluttered.share_same_category + cluttered.share_same_colour, 1.0, 1e-9);
  EXPECT_GT(cluttered.share_same_category, 0.3);
  EXPECT_GT(cluttered.share_same_colour, 0.3);

  ASSERT_TRUE(WriteShardIndexes({dir / "a/eval_cluttered/*.tar"}).ok());
  auto gallery = WebDataset::Open({dir / "a/eval_cluttered/gallery-*.tar"}, kItemImage).value();
  TarReader tar;
  ASSERT_TRUE(tar.Open(dir / "a/eval_cluttered/gallery-000000.tar").ok());
  for (int64_t g = 0; g < 600; ++g) {
    const std::string key = gallery->Read(g).value().key;
    const nlohmann::json meta = nlohmann::json::parse(tar.Read(key + ".json").value());
    ASSERT_EQ(meta["image_size"], 32);
    ASSERT_EQ(meta["target_box"].size(), 4u);
    ASSERT_EQ(meta["target_cell"].size(), 4u);
    ASSERT_GE(meta["distractors"].get<int>(), 2);
    for (const auto& d : meta["distractor_attributes"]) {
      const bool same_category = d["category"] == meta["category"];
      const bool same_colour = d["colour"] == meta["colour"];
      EXPECT_NE(same_category, same_colour) << meta.dump();
      EXPECT_EQ(d["shares"] == "category", same_category) << meta.dump();
    }
  }

  // train_generic: the same records, every title "product".
  TarReader real, generic;
  ASSERT_TRUE(real.Open(dir / "a/train/shard-000000.tar").ok());
  ASSERT_TRUE(generic.Open(dir / "a/train_generic/shard-000000.tar").ok());
  ASSERT_EQ(real.members().size(), generic.members().size());
  for (size_t i = 0; i < real.members().size(); ++i) {
    const TarMember& m = real.members()[i];
    ASSERT_EQ(m.name, generic.members()[i].name);
    const std::string a = real.Read(m).value(), b = generic.Read(generic.members()[i]).value();
    if (m.name.size() > 5 && m.name.substr(m.name.size() - 5) == ".json") {
      nlohmann::json ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
      EXPECT_EQ(jb["title"], kGenericTitle);
      ja["title"] = kGenericTitle;
      EXPECT_EQ(ja, jb);
    } else {
      EXPECT_EQ(a, b) << m.name;
    }
  }
  WordPieceTokenizer vocab = WordPieceTokenizer::Load(dir / "a/vocab.txt").value();
  for (int64_t id : vocab.Encode(kGenericTitle, 8)) EXPECT_NE(id, vocab.unk_id());
}

}  // namespace
}  // namespace tigerfg::data
