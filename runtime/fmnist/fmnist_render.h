// runtime/fmnist/fmnist_render.h — renders Fashion-MNIST products as e-commerce photos: the
// 28x28 grayscale article upscaled and tinted by a named colour on a light background, alone
// (normal layout) or among distractor products (cluttered layout), and cropped query photos.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/data/image.h"
#include "runtime/core/rng.h"
#include "runtime/core/status.h"

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
const std::vector<NamedColour>& Palette();  // 12 colours, all darker than the backgrounds

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
};

// Normal layout when `distractors` is empty: the target at 60-90% of the canvas side on a plain,
// gradient or noisy background. Cluttered: the target at 35-50% and each distractor at 30-45%,
// placed to limit overlap, distractors drawn first so the target stays visible.
RenderedListing RenderListing(const FmnistSource& source, const ProductLook& target,
                              const std::vector<ProductLook>& distractors, int size, Rng* rng);

// A query photo: the product alone on a fresh background (70-90% of a size x size canvas), then
// a square crop around its tight box, enlarged 1.05-1.35x and shifted by up to 10% of the crop
// side, resized to query_size.
Image RenderQuery(const FmnistSource& source, const ProductLook& product, int size, int query_size,
                  Rng* rng);

}  // namespace tigerfg::data
