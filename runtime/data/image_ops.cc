// runtime/data/image_ops.cc — CPU image transforms of the data pipeline.
#include "runtime/data/image_ops.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>

#include "runtime/core/image_norm.h"

namespace tigerfg::data {
namespace {

struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

// PyTorch's area_pixel_compute_source_index with align_corners=False.
std::vector<Tap> Taps(int in, int out) {
  std::vector<Tap> taps(out);
  const double scale = static_cast<double>(in) / out;
  for (int x = 0; x < out; ++x) {
    double src = std::max(0.0, (x + 0.5) * scale - 0.5);
    int i0 = std::min(static_cast<int>(src), in - 1);
    int i1 = i0 < in - 1 ? i0 + 1 : i0;
    taps[x] = {i0, i1, static_cast<float>(src - i0)};
  }
  return taps;
}

}  // namespace

std::vector<float> ResizeBilinearF32(const Image& src, int out_h, int out_w) {
  CHECK(!src.empty() && out_h > 0 && out_w > 0) << "resize of an empty image";
  const int c = src.channels;
  const std::vector<Tap> ys = Taps(src.height, out_h), xs = Taps(src.width, out_w);
  std::vector<float> out(static_cast<size_t>(out_h) * out_w * c);
  for (int y = 0; y < out_h; ++y) {
    const Tap ty = ys[y];
    const uint8_t* r0 = src.at(ty.i0, 0);
    const uint8_t* r1 = src.at(ty.i1, 0);
    float* dst = &out[static_cast<size_t>(y) * out_w * c];
    for (int x = 0; x < out_w; ++x) {
      const Tap tx = xs[x];
      for (int k = 0; k < c; ++k) {
        const float top = r0[tx.i0 * c + k] * (1 - tx.w1) + r0[tx.i1 * c + k] * tx.w1;
        const float bottom = r1[tx.i0 * c + k] * (1 - tx.w1) + r1[tx.i1 * c + k] * tx.w1;
        dst[x * c + k] = top * (1 - ty.w1) + bottom * ty.w1;
      }
    }
  }
  return out;
}

Image ResizeBilinear(const Image& src, int out_h, int out_w) {
  if (src.height == out_h && src.width == out_w) return src;
  const std::vector<float> f = ResizeBilinearF32(src, out_h, out_w);
  Image out(out_h, out_w, src.channels);
  for (size_t i = 0; i < f.size(); ++i) {
    out.pixels[i] = static_cast<uint8_t>(std::clamp(std::lround(f[i]), 0L, 255L));
  }
  return out;
}

Image Crop(const Image& src, int y0, int x0, int h, int w) {
  CHECK(y0 >= 0 && x0 >= 0 && h > 0 && w > 0 && y0 + h <= src.height && x0 + w <= src.width)
      << "crop [" << y0 << "+" << h << ", " << x0 << "+" << w << "] outside " << src.height << "x"
      << src.width;
  Image out(h, w, src.channels);
  for (int y = 0; y < h; ++y) {
    std::copy_n(src.at(y0 + y, x0), static_cast<size_t>(w) * src.channels, out.at(y, 0));
  }
  return out;
}

Image FlipHorizontal(const Image& src) {
  Image out(src.height, src.width, src.channels);
  for (int y = 0; y < src.height; ++y) {
    for (int x = 0; x < src.width; ++x) {
      std::copy_n(src.at(y, src.width - 1 - x), src.channels, out.at(y, x));
    }
  }
  return out;
}

void NormalizeToChw(const float* hwc, int height, int width, int channels,
                    const std::vector<float>& mean, const std::vector<float>& std, float* out) {
  CHECK_EQ(static_cast<int>(mean.size()), channels);
  CHECK_EQ(static_cast<int>(std.size()), channels);
  const ImageNorm norm = MakeImageNorm(mean, std);
  const size_t plane = static_cast<size_t>(height) * width;
  for (int c = 0; c < channels; ++c) {
    const float scale = norm.scale[c], shift = norm.shift[c];
    float* dst = out + c * plane;
    for (size_t i = 0; i < plane; ++i)
      dst[i] = NormalizedPixel(hwc[i * channels + c], scale, shift);
  }
}

void PixelsToChw(const Image& image, uint8_t* out) {
  const int c = image.channels;
  const size_t plane = static_cast<size_t>(image.height) * image.width;
  for (int k = 0; k < c; ++k) {
    uint8_t* dst = out + k * plane;
    for (size_t i = 0; i < plane; ++i) dst[i] = image.pixels[i * c + k];
  }
}

std::vector<MosaicCell> MosaicCells(int grid, int out_h, int out_w) {
  CHECK(grid >= 1 && grid <= out_h && grid <= out_w) << "mosaic grid " << grid;
  std::vector<MosaicCell> cells;
  for (int r = 0; r < grid; ++r) {
    for (int c = 0; c < grid; ++c) {
      cells.push_back(
          {r * out_h / grid, c * out_w / grid, (r + 1) * out_h / grid, (c + 1) * out_w / grid});
    }
  }
  return cells;
}

Image Mosaic(const Image& target, const std::vector<const Image*>& others, int grid,
             int target_cell, int out_h, int out_w) {
  const std::vector<MosaicCell> cells = MosaicCells(grid, out_h, out_w);
  CHECK(target_cell >= 0 && target_cell < static_cast<int>(cells.size()));
  CHECK_EQ(others.size() + 1, cells.size());
  Image out(out_h, out_w, target.channels, 128);
  size_t next_other = 0;
  for (int i = 0; i < static_cast<int>(cells.size()); ++i) {
    const Image* src = i == target_cell ? &target : others[next_other++];
    if (src == nullptr) continue;
    CHECK_EQ(src->channels, target.channels);
    const MosaicCell& cell = cells[i];
    const Image tile = ResizeBilinear(*src, cell.y1 - cell.y0, cell.x1 - cell.x0);
    for (int y = 0; y < tile.height; ++y) {
      std::copy_n(tile.at(y, 0), static_cast<size_t>(tile.width) * tile.channels,
                  out.at(cell.y0 + y, cell.x0));
    }
  }
  return out;
}

}  // namespace tigerfg::data
