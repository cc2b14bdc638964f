// runtime/fmnist/fmnist_benchmark.cc — products, listings, queries and shards of the benchmark.
#include "runtime/fmnist/fmnist_benchmark.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>

#include "runtime/core/rng.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/tar_writer.h"
#include "runtime/fmnist/fmnist_render.h"
#include "runtime/fmnist/fmnist_titles.h"

namespace tigerfg::data {
namespace {

constexpr int64_t kEvalProductBase = 1'000'000;
constexpr uint64_t kTrainProductSalt = 0x7470726f64ull;
constexpr uint64_t kTrainListingSalt = 0x746c697374ull;
constexpr uint64_t kEvalProductSalt = 0x6570726f64ull;
constexpr uint64_t kEvalListingSalt = 0x656c697374ull;
constexpr uint64_t kQuerySalt = 0x7175657279ull;
constexpr int kDistractorTries = 20;

struct Product {
  int64_t id = 0;
  ProductLook look;
  TitleAttributes title;
};

// One record of a shard: its members and what the stats need.
struct Record {
  Status status;
  std::string key;
  std::vector<std::pair<std::string, std::string>> members;  // extension, bytes
  int distractors = 0;
  double target_area = 0;
};

std::vector<Product> MakeProducts(const FmnistSource& source, int64_t n, uint64_t key,
                                  int64_t id_base) {
  std::vector<int64_t> order(source.count);
  std::iota(order.begin(), order.end(), 0);
  Rng shuffle(key, 0);
  for (int64_t i = source.count - 1; i > 0; --i) std::swap(order[i], order[shuffle.Int(0, i + 1)]);
  const int colours = static_cast<int>(Palette().size());
  std::vector<Product> products(n);
  for (int64_t p = 0; p < n; ++p) {
    Rng rng(key, static_cast<uint64_t>(p) + 1);
    Product& product = products[p];
    product.id = id_base + p;
    product.look.source = order[p % source.count];
    // Reusing an article gives it another colour, so (article, colour) pairs stay distinct.
    product.look.colour = static_cast<int>((rng.Int(0, colours) + p / source.count) % colours);
    product.title = DrawTitleAttributes(source.labels[product.look.source],
                                        Palette()[product.look.colour].name, &rng);
  }
  return products;
}

// 2-4 products of other categories (when the source has them) and other colours.
std::vector<ProductLook> DrawDistractors(const FmnistSource& source, const ProductLook& target,
                                         Rng* rng) {
  const int colours = static_cast<int>(Palette().size());
  std::vector<ProductLook> out(rng->Int(2, 5));
  for (ProductLook& look : out) {
    for (int t = 0; t < kDistractorTries; ++t) {
      look.source = rng->Int(0, source.count);
      if (source.labels[look.source] != source.labels[target.source]) break;
    }
    look.colour = static_cast<int>(rng->Int(0, colours - 1));
    if (look.colour >= target.colour) ++look.colour;
  }
  return out;
}

nlohmann::json ListingJson(const Product& product, const std::string& title,
                           const RenderedListing& listing) {
  const Box& b = listing.target_box;
  return {{"title", title},
          {"product_id", product.id},
          {"category", FmnistCategories()[product.title.category]},
          {"colour", product.title.colour},
          {"layout", listing.distractors > 0 ? "cluttered" : "normal"},
          {"distractors", listing.distractors},
          {"target_area", listing.target_area},
          {"target_box", {b.y0, b.x0, b.y1, b.x1}}};
}

// Adds a JPEG member, or records the encoder's error.
void AddJpeg(const Image& image, const char* ext, int quality, Record* record) {
  StatusOr<std::string> jpeg = EncodeJpeg(image, quality);
  if (!jpeg.ok()) {
    record->status = jpeg.status().WithContext(record->key);
    return;
  }
  record->members.emplace_back(ext, std::move(jpeg).value());
}

// Renders records [0, n) shard by shard (in parallel within a shard) and writes
// dir/prefix-NNNNNN.tar; accumulates the clutter measures into `stats`.
Status WriteShards(const std::string& dir, const std::string& prefix, int64_t n, int64_t shard_size,
                   const std::function<Record(int64_t)>& make, FmnistSetStats* stats) {
  double distractors = 0, area = 0;
  for (int64_t begin = 0, shard = 0; begin < n; begin += shard_size, ++shard) {
    const int64_t end = std::min(n, begin + shard_size);
    std::vector<Record> records(end - begin);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = begin; i < end; ++i) records[i - begin] = make(i);
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%06lld.tar", prefix.c_str(),
                  static_cast<long long>(shard));
    TarWriter writer;
    TIGERFG_RETURN_IF_ERROR(writer.Open(dir + "/" + name));
    for (const Record& r : records) {
      TIGERFG_RETURN_IF_ERROR(r.status);
      for (const auto& [ext, bytes] : r.members) {
        TIGERFG_RETURN_IF_ERROR(writer.Add(r.key + "." + ext, bytes));
      }
      distractors += r.distractors;
      area += r.target_area;
    }
    TIGERFG_RETURN_IF_ERROR(writer.Close());
    ++stats->shards;
  }
  if (n > 0) {
    stats->mean_distractors += distractors / n;
    stats->mean_target_area += area / n;
  }
  return Status::Ok();
}

Status CheckOptions(const FmnistOptions& o) {
  if (o.out_dir.empty()) return Status::Error("--out: an output folder is required");
  if (o.image_size < 16 || o.image_size > 1024) return Status::Error("--image_size: 16..1024");
  if (o.query_size < 8 || o.query_size > 1024) return Status::Error("--query_size: 8..1024");
  if (o.train_listings < 1) return Status::Error("--train_listings: must be positive");
  if (o.eval_queries < 1 || o.eval_gallery < 1) {
    return Status::Error("--eval_queries/--eval_gallery: must be positive");
  }
  if (o.listings_per_product < 1) return Status::Error("--listings_per_product: must be >= 1");
  if (o.shard_size < 1) return Status::Error("--shard_size: must be positive");
  if (o.train_cluttered_fraction < 0 || o.train_cluttered_fraction > 1) {
    return Status::Error("--train_cluttered_fraction: must be in [0, 1]");
  }
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100) return Status::Error("--jpeg_quality: 1..100");
  return Status::Ok();
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return Status::Error(path + ": write failed");
  return Status::Ok();
}

}  // namespace

std::string FmnistReport::Summary() const {
  std::string text;
  char line[256];
  for (const FmnistSetStats& s : sets) {
    std::snprintf(line, sizeof(line),
                  "%-15s %7lld listings of %6lld products, %5lld queries, %4lld shards; "
                  "clutter: %.2f distractors/image, target area fraction %.3f\n",
                  s.name.c_str(), static_cast<long long>(s.listings),
                  static_cast<long long>(s.products), static_cast<long long>(s.queries),
                  static_cast<long long>(s.shards), s.mean_distractors, s.mean_target_area);
    text += line;
  }
  text +=
      "clutter measures: mean distractor products per item image; target area fraction = "
      "visible target pixels (alpha > 0.5) / canvas pixels, averaged over item images\n";
  text += "vocab.txt: " + std::to_string(vocab_size) + " tokens\n";
  return text;
}

namespace {

// Training: products from the train images, listings spread over DIR/train's shards.
StatusOr<FmnistSetStats> WriteTrainSet(const FmnistOptions& o, const FmnistSource& train) {
  const int64_t lpp = o.listings_per_product;
  const int64_t train_products = (o.train_listings + lpp - 1) / lpp;
  const std::vector<Product> train_catalogue =
      MakeProducts(train, train_products, HashMix(o.seed, kTrainProductSalt), 0);
  FmnistSetStats train_stats{"train", o.train_listings, train_products, o.train_listings};
  auto make_train = [&](int64_t i) {
    Rng rng(HashMix(o.seed, kTrainListingSalt), static_cast<uint64_t>(i));
    const Product& product = train_catalogue[i % train_products];
    Record r;
    char key[32];
    std::snprintf(key, sizeof(key), "t%07lld", static_cast<long long>(i));
    r.key = key;
    const bool cluttered = rng.Uniform() < o.train_cluttered_fraction;
    const std::vector<ProductLook> distractors =
        cluttered ? DrawDistractors(train, product.look, &rng) : std::vector<ProductLook>{};
    const RenderedListing listing =
        RenderListing(train, product.look, distractors, o.image_size, &rng);
    const Image query = RenderQuery(train, product.look, o.image_size, o.query_size, &rng);
    const std::string title = MakeTitle(product.title, &rng);
    AddJpeg(query, "query.jpg", o.jpeg_quality, &r);
    AddJpeg(listing.canvas, "item.jpg", o.jpeg_quality, &r);
    r.members.emplace_back("json", ListingJson(product, title, listing).dump());
    r.distractors = listing.distractors;
    r.target_area = listing.target_area;
    return r;
  };
  TIGERFG_RETURN_IF_ERROR(WriteShards(o.out_dir + "/train", "shard", o.train_listings, o.shard_size,
                                      make_train, &train_stats));
  return train_stats;
}

// Evaluation: one catalogue from the test images, the same queries for both layouts (normal and
// cluttered), each layout's gallery and queries in DIR/eval_<layout>.
Status WriteEvalSets(const FmnistOptions& o, const FmnistSource& test, FmnistReport* report) {
  const int64_t lpp = o.listings_per_product;
  const int64_t eval_products = (o.eval_gallery + lpp - 1) / lpp;
  const std::vector<Product> eval_catalogue =
      MakeProducts(test, eval_products, HashMix(o.seed, kEvalProductSalt), kEvalProductBase);
  std::vector<int64_t> query_products(eval_products);
  std::iota(query_products.begin(), query_products.end(), 0);
  Rng query_shuffle(HashMix(o.seed, kQuerySalt), ~uint64_t{0});
  for (int64_t i = eval_products - 1; i > 0; --i) {
    std::swap(query_products[i], query_products[query_shuffle.Int(0, i + 1)]);
  }
  auto make_query = [&](int64_t q) {
    Rng rng(HashMix(o.seed, kQuerySalt), static_cast<uint64_t>(q));
    const Product& product = eval_catalogue[query_products[q % eval_products]];
    Record r;
    char key[32];
    std::snprintf(key, sizeof(key), "q%06lld", static_cast<long long>(q));
    r.key = key;
    AddJpeg(RenderQuery(test, product.look, o.image_size, o.query_size, &rng), "query.jpg",
            o.jpeg_quality, &r);
    const nlohmann::json meta = {{"product_id", product.id},
                                 {"category", FmnistCategories()[product.title.category]},
                                 {"colour", product.title.colour}};
    r.members.emplace_back("json", meta.dump());
    return r;
  };
  for (const bool cluttered : {false, true}) {
    const std::string name = cluttered ? "eval_cluttered" : "eval_normal";
    FmnistSetStats stats{name, o.eval_gallery, eval_products, o.eval_queries};
    auto make_gallery = [&](int64_t g) {
      Rng rng(HashMix(o.seed, kEvalListingSalt + (cluttered ? 1 : 0)), static_cast<uint64_t>(g));
      const Product& product = eval_catalogue[g % eval_products];
      Record r;
      char key[32];
      std::snprintf(key, sizeof(key), "g%06lld", static_cast<long long>(g));
      r.key = key;
      const std::vector<ProductLook> distractors =
          cluttered ? DrawDistractors(test, product.look, &rng) : std::vector<ProductLook>{};
      const RenderedListing listing =
          RenderListing(test, product.look, distractors, o.image_size, &rng);
      AddJpeg(listing.canvas, "item.jpg", o.jpeg_quality, &r);
      r.members.emplace_back("json",
                             ListingJson(product, MakeTitle(product.title, &rng), listing).dump());
      r.distractors = listing.distractors;
      r.target_area = listing.target_area;
      return r;
    };
    const std::string dir = o.out_dir + "/" + name;
    TIGERFG_RETURN_IF_ERROR(
        WriteShards(dir, "gallery", o.eval_gallery, o.shard_size, make_gallery, &stats));
    FmnistSetStats query_stats;  // queries have no clutter: keep the gallery's measures
    TIGERFG_RETURN_IF_ERROR(
        WriteShards(dir, "queries", o.eval_queries, o.shard_size, make_query, &query_stats));
    stats.shards += query_stats.shards;
    report->sets.push_back(stats);
  }
  return Status::Ok();
}

// DIR/vocab.txt covering every title and DIR/stats.json with the sets' sizes and clutter.
Status WriteVocabAndStats(const FmnistOptions& o, FmnistReport* report) {
  std::vector<std::string> colours;
  for (const NamedColour& c : Palette()) colours.push_back(c.name);
  const std::vector<std::string> vocab = FmnistVocabulary(colours);
  std::string vocab_text;
  for (const std::string& token : vocab) vocab_text += token + "\n";
  TIGERFG_RETURN_IF_ERROR(WriteText(o.out_dir + "/vocab.txt", vocab_text));
  report->vocab_size = static_cast<int64_t>(vocab.size());

  nlohmann::json stats = {
      {"seed", o.seed},
      {"image_size", o.image_size},
      {"query_size", o.query_size},
      {"listings_per_product", o.listings_per_product},
      {"train_cluttered_fraction", o.train_cluttered_fraction},
      {"vocab_size", report->vocab_size},
      {"palette", colours},
      {"clutter_measures",
       "mean_distractors: distractor products per item image; mean_target_area: visible target "
       "pixels (alpha > 0.5) / canvas pixels, averaged over item images"}};
  for (const FmnistSetStats& s : report->sets) {
    stats["sets"][s.name] = {{"listings", s.listings},
                             {"products", s.products},
                             {"queries", s.queries},
                             {"shards", s.shards},
                             {"mean_distractors", s.mean_distractors},
                             {"mean_target_area", s.mean_target_area}};
  }
  TIGERFG_RETURN_IF_ERROR(WriteText(o.out_dir + "/stats.json", stats.dump(2) + "\n"));
  return Status::Ok();
}

}  // namespace

StatusOr<FmnistReport> BuildFmnistBenchmark(const FmnistOptions& o) {
  TIGERFG_RETURN_IF_ERROR(CheckOptions(o));
  const std::string src = o.source_dir + "/";
  TIGERFG_ASSIGN_OR_RETURN(const FmnistSource train,
                           LoadFmnistIdx(src + "train-images-idx3-ubyte.gz",
                                         src + "train-labels-idx1-ubyte.gz", o.max_source_images));
  TIGERFG_ASSIGN_OR_RETURN(const FmnistSource test,
                           LoadFmnistIdx(src + "t10k-images-idx3-ubyte.gz",
                                         src + "t10k-labels-idx1-ubyte.gz", o.max_source_images));
  std::error_code ec;
  for (const char* sub : {"train", "eval_normal", "eval_cluttered"}) {
    std::filesystem::create_directories(o.out_dir + "/" + sub, ec);
    if (ec) return Status::Error(o.out_dir + "/" + sub + ": " + ec.message());
  }
  FmnistReport report;
  TIGERFG_ASSIGN_OR_RETURN(FmnistSetStats train_stats, WriteTrainSet(o, train));
  report.sets.push_back(train_stats);
  TIGERFG_RETURN_IF_ERROR(WriteEvalSets(o, test, &report));
  TIGERFG_RETURN_IF_ERROR(WriteVocabAndStats(o, &report));
  return report;
}

}  // namespace tigerfg::data
