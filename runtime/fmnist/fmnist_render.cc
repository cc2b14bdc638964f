// runtime/fmnist/fmnist_render.cc — IDX reading, backgrounds, tinting and placement.
#include "runtime/fmnist/fmnist_render.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "runtime/data/image_ops.h"

namespace tigerfg::data {
namespace {

constexpr int kPlacementTries = 12;

StatusOr<std::vector<uint8_t>> ReadGz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return Status::Error(path + ": cannot open");
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  int got;
  while ((got = gzread(f, chunk, sizeof(chunk))) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
  const bool failed = got < 0;
  gzclose(f);
  if (failed) return Status::Error(path + ": corrupt gzip data");
  return bytes;
}

uint32_t BigEndian(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         b[at + 3];
}

int Uniform(Rng* rng, double lo, double hi) {
  return static_cast<int>(std::lround(lo + (hi - lo) * rng->Uniform()));
}

Image Background(int size, Rng* rng) {
  Image canvas(size, size, 3);
  uint8_t a[3], b[3];
  for (int c = 0; c < 3; ++c) {
    a[c] = static_cast<uint8_t>(rng->Int(185, 256));
    b[c] = static_cast<uint8_t>(rng->Int(185, 256));
  }
  const int kind = static_cast<int>(rng->Int(0, 3));  // plain, gradient, noise
  const bool vertical = rng->Uniform() < 0.5;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double t = size > 1 ? (vertical ? y : x) / double(size - 1) : 0;
      const int noise = kind == 2 ? static_cast<int>(rng->Int(-12, 13)) : 0;
      for (int c = 0; c < 3; ++c) {
        const double v = kind == 1 ? a[c] * (1 - t) + b[c] * t : a[c];
        canvas.at(y, x)[c] = static_cast<uint8_t>(std::clamp<int>(std::lround(v) + noise, 0, 255));
      }
    }
  }
  return canvas;
}

// Alpha-blends the article, tinted `tint` and mirrored when `flip`, into `canvas` at `box`;
// pixels with alpha > 0.5 become `owner_id` in the ownership map.
void DrawProduct(const FmnistSource& source, int64_t article, const double tint[3], bool flip,
                 const Box& box, int owner_id, Image* canvas, std::vector<int>* owner) {
  Image gray(kFmnistSide, kFmnistSide, 1);
  std::copy_n(source.image(article), kFmnistSide * kFmnistSide, gray.pixels.begin());
  Image scaled = ResizeBilinear(gray, box.y1 - box.y0, box.x1 - box.x0);
  if (flip) scaled = FlipHorizontal(scaled);
  for (int y = 0; y < scaled.height; ++y) {
    for (int x = 0; x < scaled.width; ++x) {
      const double v = scaled.at(y, x)[0] / 255.0;
      const double alpha = std::min(1.0, 2.0 * v), shade = 0.35 + 0.65 * v;
      uint8_t* px = canvas->at(box.y0 + y, box.x0 + x);
      for (int c = 0; c < 3; ++c) {
        const double ink = std::clamp(tint[c], 0.0, 255.0) * shade;
        px[c] = static_cast<uint8_t>(std::lround(px[c] * (1 - alpha) + ink * alpha));
      }
      if (alpha > 0.5) (*owner)[(box.y0 + y) * canvas->width + box.x0 + x] = owner_id;
    }
  }
}

void DrawProduct(const FmnistSource& source, const ProductLook& look, const Box& box, int owner_id,
                 Image* canvas, std::vector<int>* owner) {
  const uint8_t* rgb = Palette()[look.colour].rgb;
  const double tint[3] = {double(rgb[0]), double(rgb[1]), double(rgb[2])};
  DrawProduct(source, look.source, tint, /*flip=*/false, box, owner_id, canvas, owner);
}

int OverlapArea(const Box& a, const Box& b) {
  const int h = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  const int w = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
  return h > 0 && w > 0 ? h * w : 0;
}

// A side x side box inside the canvas with the least overlap with `placed` of a few draws.
Box Place(int size, int side, const std::vector<Box>& placed, Rng* rng) {
  Box best;
  int best_overlap = -1;
  for (int t = 0; t < kPlacementTries; ++t) {
    Box box;
    box.y0 = static_cast<int>(rng->Int(0, size - side + 1));
    box.x0 = static_cast<int>(rng->Int(0, size - side + 1));
    box.y1 = box.y0 + side;
    box.x1 = box.x0 + side;
    int overlap = 0;
    for (const Box& p : placed) overlap += OverlapArea(box, p);
    if (best_overlap < 0 || overlap < best_overlap) {
      best = box;
      best_overlap = overlap;
    }
  }
  return best;
}

Box TightBox(const std::vector<int>& owner, int size, int id, const Box& fallback) {
  Box box{size, size, 0, 0};
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      if (owner[y * size + x] != id) continue;
      box.y0 = std::min(box.y0, y);
      box.x0 = std::min(box.x0, x);
      box.y1 = std::max(box.y1, y + 1);
      box.x1 = std::max(box.x1, x + 1);
    }
  }
  return box.y1 > box.y0 ? box : fallback;
}

}  // namespace

StatusOr<FmnistSource> LoadFmnistIdx(const std::string& images_gz, const std::string& labels_gz,
                                     int64_t max_images) {
  TIGERFG_ASSIGN_OR_RETURN(std::vector<uint8_t> images, ReadGz(images_gz));
  TIGERFG_ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadGz(labels_gz));
  if (images.size() < 16 || BigEndian(images, 0) != 2051 || BigEndian(images, 8) != 28 ||
      BigEndian(images, 12) != 28) {
    return Status::Error(images_gz + ": not an IDX file of 28x28 images");
  }
  if (labels.size() < 8 || BigEndian(labels, 0) != 2049) {
    return Status::Error(labels_gz + ": not an IDX label file");
  }
  const int64_t n = BigEndian(images, 4);
  if (BigEndian(labels, 4) != n) return Status::Error(labels_gz + ": label count differs");
  if (static_cast<int64_t>(images.size()) != 16 + n * 784 ||
      static_cast<int64_t>(labels.size()) != 8 + n) {
    return Status::Error(images_gz + ": truncated IDX data");
  }
  FmnistSource source;
  source.count = max_images > 0 ? std::min(n, max_images) : n;
  source.pixels.assign(images.begin() + 16, images.begin() + 16 + source.count * 784);
  source.labels.assign(labels.begin() + 8, labels.begin() + 8 + source.count);
  for (uint8_t label : source.labels) {
    if (label >= kFmnistClasses) return Status::Error(labels_gz + ": label out of range");
  }
  return source;
}

const std::vector<NamedColour>& Palette() {
  static const std::vector<NamedColour> kPalette = {
      {"red", {200, 30, 40}},
      {"blue", {30, 60, 170}},
      {"green", {30, 130, 60}},
      {"black", {25, 25, 25}},
  };
  return kPalette;
}

RenderedListing RenderListing(const FmnistSource& source, const ProductLook& target,
                              const std::vector<ProductLook>& distractors, int size, Rng* rng) {
  CHECK_LE(distractors.size(), 3u) << "one quadrant per object";
  RenderedListing out;
  out.canvas = Background(size, rng);
  std::vector<int> owner(static_cast<size_t>(size) * size, -1);
  if (distractors.empty()) {
    const int side = std::max(Uniform(rng, 0.6 * size, 0.9 * size), 1);
    out.target_cell = Place(size, side, {}, rng);
    DrawProduct(source, target, out.target_cell, 0, &out.canvas, &owner);
  } else {
    // Quadrants in a random order: the first is the target's.
    int quadrants[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(quadrants[i], quadrants[rng->Int(0, i + 1)]);
    const int half = size / 2;
    for (size_t i = 0; i <= distractors.size(); ++i) {
      const int side = std::clamp(Uniform(rng, 0.75 * half, half), 1, half);
      Box box;
      box.y0 = (quadrants[i] / 2) * half + static_cast<int>(rng->Int(0, half - side + 1));
      box.x0 = (quadrants[i] % 2) * half + static_cast<int>(rng->Int(0, half - side + 1));
      box.y1 = box.y0 + side;
      box.x1 = box.x0 + side;
      if (i == 0) {
        out.target_cell = box;
        DrawProduct(source, target, box, 0, &out.canvas, &owner);
      } else {
        DrawProduct(source, distractors[i - 1], box, static_cast<int>(i), &out.canvas, &owner);
      }
    }
  }
  out.distractors = static_cast<int>(distractors.size());
  out.target_area = std::count(owner.begin(), owner.end(), 0) / double(owner.size());
  out.target_box = TightBox(owner, size, 0, out.target_cell);
  return out;
}

QueryView DrawQueryView(Rng* rng) {
  QueryView view;
  view.flip = rng->Uniform() < 0.5;
  view.brightness = 0.8 + 0.4 * rng->Uniform();
  for (int& shift : view.tint_shift) shift = static_cast<int>(rng->Int(-20, 21));
  return view;
}

Image RenderQuery(const FmnistSource& source, const ProductLook& product, int size, int query_size,
                  Rng* rng) {
  const QueryView view = DrawQueryView(rng);
  return RenderQuery(source, product, view, size, query_size, rng);
}

Image RenderQuery(const FmnistSource& source, const ProductLook& product, const QueryView& view,
                  int size, int query_size, Rng* rng) {
  Image canvas = Background(size, rng);
  std::vector<int> owner(static_cast<size_t>(size) * size, -1);
  const int side = std::max(Uniform(rng, 0.7 * size, 0.9 * size), 1);
  const Box placed = Place(size, side, {}, rng);
  const uint8_t* rgb = Palette()[product.colour].rgb;
  double tint[3];
  for (int c = 0; c < 3; ++c) tint[c] = rgb[c] * view.brightness + view.tint_shift[c];
  DrawProduct(source, product.source, tint, view.flip, placed, 0, &canvas, &owner);
  const Box tight = TightBox(owner, size, 0, placed);
  const double scale = 1.05 + 0.3 * rng->Uniform();
  const int crop = std::clamp<int>(
      std::lround(scale * std::max(tight.y1 - tight.y0, tight.x1 - tight.x0)), 1, size);
  const double shift_y = (rng->Uniform() - 0.5) * 0.2 * crop;
  const double shift_x = (rng->Uniform() - 0.5) * 0.2 * crop;
  const int y0 =
      std::clamp<int>(std::lround((tight.y0 + tight.y1 - crop) / 2.0 + shift_y), 0, size - crop);
  const int x0 =
      std::clamp<int>(std::lround((tight.x0 + tight.x1 - crop) / 2.0 + shift_x), 0, size - crop);
  return ResizeBilinear(Crop(canvas, y0, x0, crop, crop), query_size, query_size);
}

}  // namespace tigerfg::data
