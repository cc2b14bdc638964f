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
#include "runtime/fmnist/fmnist_clutter.h"
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
  std::string generic_json;  // the JSON member of the generic-title copy (training only)
  int distractors = 0, same_category = 0, same_colour = 0;
  double target_area = 0;
};

// n products over a shuffled order of the articles; an article is reused (in another colour)
// only when n exceeds the source, which evaluation catalogues never do (see CheckSources).
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

// A listing: the product alone (normal) or among distractors drawn from `pool` (cluttered).
struct Listing {
  RenderedListing rendered;
  std::vector<Distractor> distractors;
};
Listing MakeListing(const FmnistSource& source, const DistractorPool& pool, const Product& product,
                    bool cluttered, int size, Rng* rng) {
  Listing l;
  if (cluttered) l.distractors = DrawDistractors(source, pool, product.look, rng);
  std::vector<ProductLook> looks;
  for (const Distractor& d : l.distractors) looks.push_back(d.look);
  l.rendered = RenderListing(source, product.look, looks, size, rng);
  return l;
}

nlohmann::json BoxJson(const Box& b) { return {b.y0, b.x0, b.y1, b.x1}; }

nlohmann::json ListingJson(const FmnistSource& source, const Product& product,
                           const std::string& title, const Listing& listing, int size) {
  nlohmann::json distractors = nlohmann::json::array();
  for (const Distractor& d : listing.distractors) {
    distractors.push_back(
        {{"category", FmnistCategories()[source.labels[d.look.source]]},
         {"colour", Palette()[d.look.colour].name},
         {"shares", d.shares == SharedAttribute::kCategory ? "category" : "colour"}});
  }
  const RenderedListing& r = listing.rendered;
  return {{"title", title},
          {"product_id", product.id},
          {"category", FmnistCategories()[product.title.category]},
          {"colour", product.title.colour},
          {"layout", r.distractors > 0 ? "cluttered" : "normal"},
          {"distractors", r.distractors},
          {"distractor_attributes", distractors},
          {"target_area", r.target_area},
          {"target_box", BoxJson(r.target_box)},
          {"target_cell", BoxJson(r.target_cell)},
          {"image_size", size}};
}

// Fills the record's JSON member(s) and clutter measures from a rendered listing.
void AddListing(const FmnistSource& source, const Product& product, const std::string& title,
                const Listing& listing, int size, bool generic_copy, Record* r) {
  nlohmann::json meta = ListingJson(source, product, title, listing, size);
  r->members.emplace_back("json", meta.dump());
  if (generic_copy) {
    meta["title"] = kGenericTitle;
    r->generic_json = meta.dump();
  }
  r->distractors = listing.rendered.distractors;
  r->target_area = listing.rendered.target_area;
  for (const Distractor& d : listing.distractors)
    ++(d.shares == SharedAttribute::kCategory ? r->same_category : r->same_colour);
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
// dir/prefix-NNNNNN.tar, and with a `generic_dir` the same records with their generic JSON
// there; accumulates the clutter measures into `stats`.
Status WriteShards(const std::string& dir, const std::string& generic_dir,
                   const std::string& prefix, int64_t n, int64_t shard_size,
                   const std::function<Record(int64_t)>& make, FmnistSetStats* stats) {
  double distractors = 0, area = 0, same_category = 0, same_colour = 0;
  for (int64_t begin = 0, shard = 0; begin < n; begin += shard_size, ++shard) {
    const int64_t end = std::min(n, begin + shard_size);
    std::vector<Record> records(end - begin);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = begin; i < end; ++i) records[i - begin] = make(i);
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%06lld.tar", prefix.c_str(),
                  static_cast<long long>(shard));
    for (const bool generic : {false, true}) {
      if (generic && generic_dir.empty()) continue;
      TarWriter writer;
      TIGERFG_RETURN_IF_ERROR(writer.Open((generic ? generic_dir : dir) + "/" + name));
      for (const Record& r : records) {
        TIGERFG_RETURN_IF_ERROR(r.status);
        for (const auto& [ext, bytes] : r.members) {
          const std::string& data = generic && ext == "json" ? r.generic_json : bytes;
          TIGERFG_RETURN_IF_ERROR(writer.Add(r.key + "." + ext, data));
        }
      }
      TIGERFG_RETURN_IF_ERROR(writer.Close());
    }
    for (const Record& r : records) {
      distractors += r.distractors;
      area += r.target_area;
      same_category += r.same_category;
      same_colour += r.same_colour;
    }
    ++stats->shards;
  }
  if (n > 0) {
    stats->mean_distractors += distractors / n;
    stats->mean_target_area += area / n;
  }
  if (distractors > 0) {
    stats->share_same_category = same_category / distractors;
    stats->share_same_colour = same_colour / distractors;
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
  char line[320];
  for (const FmnistSetStats& s : sets) {
    std::snprintf(line, sizeof(line),
                  "%-15s %7lld listings of %6lld products, %5lld queries, %4lld shards; "
                  "clutter: %.2f distractors/image (%.0f%% same category, %.0f%% same colour), "
                  "target area fraction %.3f\n",
                  s.name.c_str(), static_cast<long long>(s.listings),
                  static_cast<long long>(s.products), static_cast<long long>(s.queries),
                  static_cast<long long>(s.shards), s.mean_distractors, 100 * s.share_same_category,
                  100 * s.share_same_colour, s.mean_target_area);
    text += line;
  }
  text +=
      "clutter measures: mean distractor products per item image (each shares exactly one of the "
      "target's colour and category); target area fraction = visible target pixels (alpha > 0.5) "
      "/ canvas pixels, averaged over item images\n";
  std::snprintf(line, sizeof(line),
                "evaluation R@1 references: chance %.4f; text-only oracle (the query's colour + "
                "category matched against the titles) %.4f: %.1f listings of %.1f products share "
                "a query's colour and category\n",
                chance_at_1, text_oracle_at_1, matching_listings, matching_products);
  text += line;
  text += "vocab.txt: " + std::to_string(vocab_size) + " tokens\n";
  return text;
}

namespace {

Record NewRecord(const char* prefix, int64_t i) {
  Record r;
  char key[32];
  std::snprintf(key, sizeof(key), "%s%07lld", prefix, static_cast<long long>(i));
  r.key = key;
  return r;
}

// Training: products from the train images, listings spread over DIR/train's shards (and the
// same listings with generic titles in DIR/train_generic).
StatusOr<FmnistSetStats> WriteTrainSet(const FmnistOptions& o, const FmnistSource& train) {
  const int64_t lpp = o.listings_per_product;
  const int64_t train_products = (o.train_listings + lpp - 1) / lpp;
  const std::vector<Product> train_catalogue =
      MakeProducts(train, train_products, HashMix(o.seed, kTrainProductSalt), 0);
  const DistractorPool pool = DistractorPool::From(train, {});
  FmnistSetStats train_stats{"train", o.train_listings, train_products, o.train_listings};
  auto make_train = [&](int64_t i) {
    Rng rng(HashMix(o.seed, kTrainListingSalt), static_cast<uint64_t>(i));
    const Product& product = train_catalogue[i % train_products];
    Record r = NewRecord("t", i);
    const bool cluttered = rng.Uniform() < o.train_cluttered_fraction;
    const Listing listing = MakeListing(train, pool, product, cluttered, o.image_size, &rng);
    const Image query = RenderQuery(train, product.look, o.image_size, o.query_size, &rng);
    const std::string title = MakeTitle(product.title, &rng);
    AddJpeg(query, "query.jpg", o.jpeg_quality, &r);
    AddJpeg(listing.rendered.canvas, "item.jpg", o.jpeg_quality, &r);
    AddListing(train, product, title, listing, o.image_size, o.generic_train, &r);
    return r;
  };
  TIGERFG_RETURN_IF_ERROR(WriteShards(o.out_dir + "/train",
                                      o.generic_train ? o.out_dir + "/train_generic" : "", "shard",
                                      o.train_listings, o.shard_size, make_train, &train_stats));
  return train_stats;
}

// Evaluation: one catalogue from the test images, the same queries for both layouts (normal and
// cluttered), each layout's gallery and queries in DIR/eval_<layout>.
Status WriteEvalSets(const FmnistOptions& o, const FmnistSource& test, FmnistReport* report) {
  const int64_t lpp = o.listings_per_product;
  const int64_t eval_products = (o.eval_gallery + lpp - 1) / lpp;
  const std::vector<Product> eval_catalogue =
      MakeProducts(test, eval_products, HashMix(o.seed, kEvalProductSalt), kEvalProductBase);
  std::vector<int64_t> product_articles;
  for (const Product& p : eval_catalogue) product_articles.push_back(p.look.source);
  const DistractorPool pool = DistractorPool::From(test, product_articles);
  std::vector<int64_t> query_products(eval_products);
  std::iota(query_products.begin(), query_products.end(), 0);
  Rng query_shuffle(HashMix(o.seed, kQuerySalt), ~uint64_t{0});
  for (int64_t i = eval_products - 1; i > 0; --i) {
    std::swap(query_products[i], query_products[query_shuffle.Int(0, i + 1)]);
  }
  auto query_product = [&](int64_t q) { return query_products[q % eval_products]; };
  auto make_query = [&](int64_t q) {
    Rng rng(HashMix(o.seed, kQuerySalt), static_cast<uint64_t>(q));
    const Product& product = eval_catalogue[query_product(q)];
    Record r = NewRecord("q", q);
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
      Record r = NewRecord("g", g);
      const Listing listing = MakeListing(test, pool, product, cluttered, o.image_size, &rng);
      AddJpeg(listing.rendered.canvas, "item.jpg", o.jpeg_quality, &r);
      AddListing(test, product, MakeTitle(product.title, &rng), listing, o.image_size,
                 /*generic_copy=*/false, &r);
      return r;
    };
    const std::string dir = o.out_dir + "/" + name;
    TIGERFG_RETURN_IF_ERROR(
        WriteShards(dir, "", "gallery", o.eval_gallery, o.shard_size, make_gallery, &stats));
    FmnistSetStats query_stats;  // queries have no clutter: keep the gallery's measures
    TIGERFG_RETURN_IF_ERROR(
        WriteShards(dir, "", "queries", o.eval_queries, o.shard_size, make_query, &query_stats));
    stats.shards += query_stats.shards;
    report->sets.push_back(stats);
  }
  // What text alone and a random ranking give away (the same for both layouts).
  std::vector<VisibleAttributes> attributes(eval_products);
  for (int64_t p = 0; p < eval_products; ++p)
    attributes[p] = {eval_catalogue[p].look.colour, eval_catalogue[p].title.category};
  std::vector<int64_t> queried(o.eval_queries), gallery(o.eval_gallery);
  for (int64_t q = 0; q < o.eval_queries; ++q) queried[q] = query_product(q);
  for (int64_t g = 0; g < o.eval_gallery; ++g) gallery[g] = g % eval_products;
  const TextOracle oracle = ScoreTextOracle(attributes, queried, gallery);
  report->text_oracle_at_1 = oracle.recall_at_1;
  report->matching_listings = oracle.matching_listings;
  report->matching_products = oracle.matching_products;
  double chance = 0;
  for (int64_t p : queried)
    chance += double(o.eval_gallery / eval_products + (p < o.eval_gallery % eval_products ? 1 : 0));
  report->chance_at_1 = chance / double(o.eval_queries) / double(o.eval_gallery);
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
       "mean_distractors: distractor products per item image; share_same_category / "
       "share_same_colour: of the distractors, those sharing the target's category (another "
       "colour) / colour (another category); mean_target_area: visible target pixels (alpha > "
       "0.5) / canvas pixels, averaged over item images"},
      {"evaluation_measures",
       "chance_at_1: Recall@1 of a random ranking; text_oracle_at_1: expected Recall@1 of ranking "
       "the listings of the query's colour and category first (random order among them); "
       "matching_listings/products: per query, listings/products of its colour and category"}};
  for (const FmnistSetStats& s : report->sets) {
    stats["sets"][s.name] = {{"listings", s.listings},
                             {"products", s.products},
                             {"queries", s.queries},
                             {"shards", s.shards},
                             {"mean_distractors", s.mean_distractors},
                             {"share_same_category", s.share_same_category},
                             {"share_same_colour", s.share_same_colour},
                             {"mean_target_area", s.mean_target_area}};
  }
  stats["evaluation"] = {{"chance_at_1", report->chance_at_1},
                         {"text_oracle_at_1", report->text_oracle_at_1},
                         {"matching_listings", report->matching_listings},
                         {"matching_products", report->matching_products}};
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
  const int64_t eval_products =
      (o.eval_gallery + o.listings_per_product - 1) / o.listings_per_product;
  if (2 * eval_products > test.count) {
    return Status::Error("--eval_gallery: " + std::to_string(eval_products) +
                         " evaluation products need distinct test articles and as many left for "
                         "distractors, but the test split has " +
                         std::to_string(test.count) + " (see --max_source_images)");
  }
  std::error_code ec;
  for (const char* sub : {"train", "train_generic", "eval_normal", "eval_cluttered"}) {
    if (!o.generic_train && std::string(sub) == "train_generic") continue;
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
