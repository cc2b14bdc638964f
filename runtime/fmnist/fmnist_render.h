// runtime/fmnist/fmnist_render.h — renders Fashion-MNIST products as e-commerce photos: the
// 28x28 grayscale article upscaled and tinted by a named colour on a light background, alone
// (normal layout) or among distractor products (cluttered layout, one object per quadrant so the
// patch grid separates them), and query photos: another view of the product (crop, flip, light).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/rng.h"
#include "runtime/core/status.h"
#include "runtime/data/image.h"

namespace tigerfg::data {

constexpr int kFmnistSide = 28;
constexpr int kFmnistClasses = 10;

// The images and labels of one IDX pair (train or t10k).
struct FmnistSource {
  int64_t count = 0;
  std::vector<uint8_t> pixels;  // [count, 28, 28], 0 = background
  std::vector<uint8_t> labels;  // [count], 0..9
  const uint8_t* image(int64_t i) const { return &pixels[i * kFmnistSide * kFmnistSide]; }
};

// Reads gzipped IDX files (images magic 2051, labels 2049); at most max_images (0 = all).
StatusOr<FmnistSource> LoadFmnistIdx(const std::string& images_gz, const std::string& labels_gz,
                                     int64_t max_images);

struct NamedColour {
  const char* name;
  uint8_t rgb[3];
};
// 4 well-separated colours, all darker than the backgrounds: few colours, so many products share
// a title's visible attributes (colour and category) and the text alone cannot pin the product.
const std::vector<NamedColour>& Palette();

// A product: one source article in one colour.
struct ProductLook {
  int64_t source = 0;  // index into FmnistSource
  int colour = 0;      // index into Palette()
};

struct Box {
  int y0 = 0, x0 = 0, y1 = 0, x1 = 0;  // half-open
};

struct RenderedListing {
  Image canvas;            // [size, size, 3]
  int distractors = 0;     // products drawn besides the target
  double target_area = 0;  // visible target pixels (alpha > 0.5) / canvas pixels
  Box target_box;          // tight box of the visible target pixels
  Box target_cell;         // where the target was placed (its quadrant when cluttered)
};

// Normal layout when `distractors` is empty: the target at 60-90% of the canvas side on a plain,
// gradient or noisy background. Cluttered (at most 3 distractors): the canvas is cut into
// quadrants; the target and each distractor take a quadrant of their own, at 75-100% of its side
// at a random offset inside it, so no two objects share a pixel and, at 64 px with patch 16, no
// two share a patch (each quadrant is 2x2 patches).
RenderedListing RenderListing(const FmnistSource& source, const ProductLook& target,
                              const std::vector<ProductLook>& distractors, int size, Rng* rng);

// How a query photo differs from the product's listings: mirrored, lighter or darker, its tint
// shifted per channel (on top of a fresh background, position and crop).
struct QueryView {
  bool flip = false;
  double brightness = 1.0;        // multiplies the tint: 0.8-1.2
  int tint_shift[3] = {0, 0, 0};  // added to the tint: -20..20 per channel
};
QueryView DrawQueryView(Rng* rng);  // flip with probability 1/2, the rest uniform

// A query photo: the product alone on a fresh background (70-90% of a size x size canvas) seen as
// `view`, then a square crop around its tight box, enlarged 1.05-1.35x and shifted by up to 10%
// of the crop side, resized to query_size.
Image RenderQuery(const FmnistSource& source, const ProductLook& product, const QueryView& view,
                  int size, int query_size, Rng* rng);
// The same with a view drawn from rng first.
Image RenderQuery(const FmnistSource& source, const ProductLook& product, int size, int query_size,
                  Rng* rng);

}  // namespace tigerfg::data
