// runtime/fmnist/fmnist_clutter.cc — distractor drawing and the text-only oracle.
#include "runtime/fmnist/fmnist_clutter.h"

#include <algorithm>
#include <map>
#include <set>

namespace tigerfg::data {

DistractorPool DistractorPool::From(const FmnistSource& source,
                                    const std::vector<int64_t>& excluded) {
  const std::set<int64_t> skip(excluded.begin(), excluded.end());
  DistractorPool pool;
  pool.by_label.resize(kFmnistClasses);
  for (int64_t i = 0; i < source.count; ++i)
    if (!skip.count(i)) pool.by_label[source.labels[i]].push_back(i);
  return pool;
}

namespace {

// An article of `label` other than `not_this`; -1 when the pool has none.
int64_t PickArticle(const DistractorPool& pool, int label, int64_t not_this, Rng* rng) {
  const std::vector<int64_t>& v = pool.by_label[label];
  const int64_t n = static_cast<int64_t>(v.size());
  if (n == 0 || (n == 1 && v[0] == not_this)) return -1;
  int64_t pick = v[rng->Int(0, n)];
  while (pick == not_this) pick = v[rng->Int(0, n)];
  return pick;
}

// A label other than `label` that the pool has articles of; -1 when none.
int PickOtherLabel(const DistractorPool& pool, int label, Rng* rng) {
  std::vector<int> labels;
  for (int l = 0; l < kFmnistClasses; ++l)
    if (l != label && !pool.by_label[l].empty()) labels.push_back(l);
  if (labels.empty()) return -1;
  return labels[rng->Int(0, static_cast<int64_t>(labels.size()))];
}

}  // namespace

std::vector<Distractor> DrawDistractors(const FmnistSource& source, const DistractorPool& pool,
                                        const ProductLook& target, Rng* rng) {
  const int colours = static_cast<int>(Palette().size());
  const int label = source.labels[target.source];
  const int n = static_cast<int>(rng->Int(2, 4));
  std::vector<Distractor> out;
  for (int i = 0; i < n; ++i) {
    SharedAttribute want =
        i == 0   ? SharedAttribute::kCategory
        : i == 1 ? SharedAttribute::kColour
                 : (rng->Uniform() < 0.5 ? SharedAttribute::kCategory : SharedAttribute::kColour);
    int64_t same_category = PickArticle(pool, label, target.source, rng);
    const int other_label = PickOtherLabel(pool, label, rng);
    const int64_t other_category =
        other_label < 0 ? -1 : PickArticle(pool, other_label, target.source, rng);
    if (want == SharedAttribute::kCategory && same_category < 0) want = SharedAttribute::kColour;
    if (want == SharedAttribute::kColour && other_category < 0) want = SharedAttribute::kCategory;
    if (want == SharedAttribute::kCategory && same_category < 0) continue;  // an empty pool
    Distractor d;
    d.shares = want;
    if (want == SharedAttribute::kCategory) {
      d.look.source = same_category;
      d.look.colour = static_cast<int>(rng->Int(0, colours - 1));
      if (d.look.colour >= target.colour) ++d.look.colour;
    } else {
      d.look.source = other_category;
      d.look.colour = target.colour;
    }
    out.push_back(d);
  }
  return out;
}

TextOracle ScoreTextOracle(const std::vector<VisibleAttributes>& attributes,
                           const std::vector<int64_t>& query_products,
                           const std::vector<int64_t>& gallery_products) {
  auto key = [&](int64_t p) { return attributes[p].colour * 1000 + attributes[p].category; };
  std::map<int, int64_t> listings_by_key;
  std::map<int, std::set<int64_t>> products_by_key;
  std::map<int64_t, int64_t> listings_by_product;
  for (int64_t p : gallery_products) {
    ++listings_by_key[key(p)];
    products_by_key[key(p)].insert(p);
    ++listings_by_product[p];
  }
  TextOracle o;
  if (query_products.empty()) return o;
  for (int64_t p : query_products) {
    const int64_t matching = listings_by_key[key(p)];
    if (matching > 0) o.recall_at_1 += double(listings_by_product[p]) / double(matching);
    o.matching_listings += double(matching);
    o.matching_products += double(products_by_key[key(p)].size());
  }
  const double q = double(query_products.size());
  o.recall_at_1 /= q;
  o.matching_listings /= q;
  o.matching_products /= q;
  return o;
}

}  // namespace tigerfg::data
