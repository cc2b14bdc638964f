// runtime/eval/listing_meta.h — what an evaluation set's KEY.json records beyond the product id
// (the Fashion-MNIST benchmark writes them): the visible attributes a title names and where the
// product is in the item image. Eval uses them for the attribute-matched Recall@1 and for the
// share of a grounding (or teacher) map that falls on the product.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/data/loader.h"

namespace tigerfg::eval {

struct ListingMeta {
  // "colour|category" when the JSON has both (else empty): listings whose titles share it carry
  // no identity in their visible words.
  std::string attributes;
  bool has_box = false;
  int box[4] = {0, 0, 0, 0};  // target_box [y0, x0, y1, x1) in pixels of an image_size canvas
  int image_size = 0;
};

// One entry per sample of DIR's queries-*.tar or gallery-*.tar, in the order EvalSet reads them.
StatusOr<std::vector<ListingMeta>> ReadListingMeta(const std::string& dir, data::EvalPart part);

// Which patches of a (image_size / patch)^2 grid lie on the product: those covered by the
// listing's box (scaled from its canvas to image_size) over at least a quarter of their area.
// [N] of 0/1; empty when the listing has no box.
std::vector<uint8_t> ProductPatches(const ListingMeta& meta, int image_size, int patch);

// The mass a map puts on the product against a uniform map's.
struct ProductMass {
  int64_t listings = 0;   // maps with a product mask
  double on_product = 0;  // mean over them of sum_n map[n] * mask[n]
  double uniform = 0;     // mean of sum_n mask[n] / N
};
// Adds rows of maps[rows, N] (each summing to 1) with their masks (an empty mask is skipped).
void AddProductMass(const float* maps, int64_t rows, int64_t n,
                    const std::vector<std::vector<uint8_t>>& masks, ProductMass* total);
// Turns the sums AddProductMass accumulated into means.
void FinishProductMass(ProductMass* total);

}  // namespace tigerfg::eval
