// runtime/fmnist/fmnist_benchmark.h — builds the Fashion-MNIST e-commerce retrieval benchmark
// (`tigerfg data fmnist`): WebDataset training shards and two evaluation sets, deterministic
// by seed.
//
// Layout on disk (all shards ustar, `shard_size` records each):
//   DIR/train/shard-000000.tar ...   KEY.query.jpg, KEY.item.jpg, KEY.json
//                                    {"title", "product_id", "category", "colour", "layout",
//                                     "distractors", "distractor_attributes", "target_area",
//                                     "target_box", "target_cell", "image_size"}
//   DIR/train_generic/shard-*.tar    the same records with every title "product" (the control
//                                    trained without titles; written unless disabled)
//   DIR/eval_normal/gallery-000000.tar ...  KEY.item.jpg, KEY.json (as above)
//   DIR/eval_normal/queries-000000.tar ...  KEY.query.jpg, KEY.json {"product_id", ...}
//   DIR/eval_cluttered/{gallery,queries}-*.tar   the same products and queries, other layout
//   DIR/vocab.txt    WordPiece vocabulary covering every title ([PAD] = 0)
//   DIR/stats.json   sizes, clutter measures, text-only oracle and chance of every set
// Boxes are [y0, x0, y1, x1) in pixels of the image_size canvas: target_box is the tight box of
// the visible target pixels, target_cell where it was placed (its quadrant in clutter).
//
// A product is (source article, palette colour) and has `listings_per_product` listings that
// share its product_id: different backgrounds, positions, scales and title wordings. The palette
// has 4 colours, so about gallery/(3 x 40) products share each (colour, category) pair: the
// title's visible words narrow a query to a group, not to its product. A query is another view
// of the product photographed alone (crop, mirror, brightness and tint jitter); every gallery
// listing of its product_id counts as a hit. Training uses the 60,000 train images only;
// evaluation products (distinct articles, ids 1,000,000+) and their distractors come from the
// 10,000 test images, distractors never from an evaluation product's article.
//
// Normal layout: the target alone at 60-90% of the side. Cluttered: one object per canvas
// quadrant, the target and 2-3 distractors (fmnist_clutter.h): one of the target's category in
// another colour, one of its colour in another category, a third of either kind; only the
// title's combination of colour and category says which object is the product. Clutter is
// measured per set as the mean distractors per image, the share of them sharing the category
// (resp. colour), and the mean target area fraction (visible target pixels / canvas pixels).
// Training listings are cluttered with probability train_cluttered_fraction.
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
  bool generic_train = true;  // also write DIR/train_generic
};

struct FmnistSetStats {
  std::string name;  // train, eval_normal, eval_cluttered
  int64_t listings = 0;
  int64_t products = 0;
  int64_t queries = 0;
  int64_t shards = 0;
  double mean_distractors = 0;
  double mean_target_area = 0;
  double share_same_category = 0;  // of the distractors: same category, another colour
  double share_same_colour = 0;    // same colour, another category
};

struct FmnistReport {
  std::vector<FmnistSetStats> sets;
  int64_t vocab_size = 0;
  // Evaluation (both layouts share the catalogue and queries): Recall@1 of a random ranking, and
  // of the text-only oracle that ranks listings of the query's colour and category first.
  double chance_at_1 = 0;
  double text_oracle_at_1 = 0;
  double matching_listings = 0, matching_products = 0;  // per query, same colour + category
  std::string Summary() const;                          // the lines `tigerfg data fmnist` prints
};

StatusOr<FmnistReport> BuildFmnistBenchmark(const FmnistOptions& options);

}  // namespace tigerfg::data
