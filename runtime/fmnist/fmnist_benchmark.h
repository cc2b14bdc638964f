// runtime/fmnist/fmnist_benchmark.h — builds the Fashion-MNIST e-commerce retrieval benchmark
// (`tigerfg data fmnist`): WebDataset training shards and two evaluation sets, deterministic
// by seed.
//
// Layout on disk (all shards ustar, `shard_size` records each):
//   DIR/train/shard-000000.tar ...   KEY.query.jpg, KEY.item.jpg, KEY.json
//                                    {"title", "product_id", "category", "colour", "layout",
//                                     "distractors", "target_area", "target_box"}
//   DIR/eval_normal/gallery-000000.tar ...  KEY.item.jpg, KEY.json {"title", "product_id", ...}
//   DIR/eval_normal/queries-000000.tar ...  KEY.query.jpg, KEY.json {"product_id", ...}
//   DIR/eval_cluttered/{gallery,queries}-*.tar   the same products and queries, other layout
//   DIR/vocab.txt    WordPiece vocabulary covering every title ([PAD] = 0)
//   DIR/stats.json   sizes and clutter measures of every set
//
// A product is (source article, palette colour) and has `listings_per_product` listings that
// share its product_id: different backgrounds, positions, scales and title wordings. A query is
// a jittered crop of the product photographed alone; every gallery listing of its product_id
// counts as a hit for Recall@K. Training uses the 60,000 train images only; evaluation products
// and distractors come from the 10,000 test images only. Evaluation products are ids 1,000,000+.
//
// Clutter is measured per set as (a) the mean number of distractor products per item image and
// (b) the mean target area fraction: visible target pixels (tint alpha > 0.5, after all
// drawing) / canvas pixels. Normal: 0 distractors, the target at 60-90% of the side; cluttered:
// 2-4 distractors of other categories and colours, the target at 35-50% of the side. Training
// listings are cluttered with probability train_cluttered_fraction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace tigerfg::data {

struct FmnistOptions {
  std::string source_dir = "/usr/share/datasets/fashion-mnist";
  std::string out_dir;
  uint64_t seed = 0;
  int image_size = 64;  // item canvases
  int query_size = 64;
  int64_t train_listings = 20000;
  int listings_per_product = 3;
  double train_cluttered_fraction = 0.5;
  int64_t eval_queries = 1000;
  int64_t eval_gallery = 2000;  // per layout
  int64_t shard_size = 1000;
  int64_t max_source_images = 0;  // per split; 0 = all (tests use a few hundred)
  int jpeg_quality = 90;
};

struct FmnistSetStats {
  std::string name;  // train, eval_normal, eval_cluttered
  int64_t listings = 0;
  int64_t products = 0;
  int64_t queries = 0;
  int64_t shards = 0;
  double mean_distractors = 0;
  double mean_target_area = 0;
};

struct FmnistReport {
  std::vector<FmnistSetStats> sets;
  int64_t vocab_size = 0;
  std::string Summary() const;  // the lines `tigerfg data fmnist` prints
};

StatusOr<FmnistReport> BuildFmnistBenchmark(const FmnistOptions& options);

}  // namespace tigerfg::data
