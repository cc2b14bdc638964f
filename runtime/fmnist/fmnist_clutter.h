// runtime/fmnist/fmnist_clutter.h — which distractors a cluttered listing shows, and what a
// text-only matcher of the title's visible attributes (colour + category) scores.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/rng.h"
#include "runtime/fmnist/fmnist_render.h"

namespace tigerfg::data {

// The articles distractors are drawn from, by category. Evaluation listings exclude every
// evaluation product's article, so a distractor is never another gallery product.
struct DistractorPool {
  std::vector<std::vector<int64_t>> by_label;  // [kFmnistClasses] article indices
  // Every article of `source` except those in `excluded` (sorted or not).
  static DistractorPool From(const FmnistSource& source, const std::vector<int64_t>& excluded);
};

// What a distractor has in common with the target: exactly one of its two visible attributes.
enum class SharedAttribute { kCategory, kColour };

struct Distractor {
  ProductLook look;
  SharedAttribute shares = SharedAttribute::kCategory;
};

// 2 or 3 distractors: the first shares the target's category (in another colour), the second its
// colour (another category), a third either. So each attribute alone matches a wrong object and
// only the title's combination names the target. Falls back to the other kind when the pool
// has no article of the needed category (tiny sources). Never the target's own article.
std::vector<Distractor> DrawDistractors(const FmnistSource& source, const DistractorPool& pool,
                                        const ProductLook& target, Rng* rng);

// The best a matcher of the title's visible attributes can do: for each query (its product's
// colour and category), the gallery listings with the same colour and category in random order
// first. Returns the expected Recall@1 = mean over queries of hits / matching listings, and the
// mean number of matching listings (and products) per query.
struct TextOracle {
  double recall_at_1 = 0;
  double matching_listings = 0;
  double matching_products = 0;
};
// query_products[q] and gallery_products[g] index `attributes` (colour, category) of products;
// gallery_products must hold every queried product.
struct VisibleAttributes {
  int colour = 0, category = 0;
};
TextOracle ScoreTextOracle(const std::vector<VisibleAttributes>& attributes,
                           const std::vector<int64_t>& query_products,
                           const std::vector<int64_t>& gallery_products);

}  // namespace tigerfg::data
