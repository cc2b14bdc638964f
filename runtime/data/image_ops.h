// runtime/data/image_ops.h — resize, crop, flip, mosaic and normalisation of decoded images,
// matching torchvision/PyTorch semantics where one exists.
#pragma once

#include <vector>

#include "runtime/data/image.h"

namespace tigerfg::data {

// Bilinear resize with PyTorch's align_corners=False mapping (no antialiasing): output pixel x
// samples source coordinate max(0, (x + 0.5) * in_w / out_w - 0.5), the right/bottom neighbour
// clamped to the edge. Float output [out_h, out_w, C] in the 0..255 range, unrounded.
std::vector<float> ResizeBilinearF32(const Image& src, int out_h, int out_w);
// The same, rounded to the nearest 8-bit value.
Image ResizeBilinear(const Image& src, int out_h, int out_w);

// Rows [y0, y0 + h) and columns [x0, x0 + w); the rectangle must lie inside the image.
Image Crop(const Image& src, int y0, int x0, int h, int w);
Image FlipHorizontal(const Image& src);

// Writes (pixel / 255 - mean[c]) / std[c] as CHW floats: out[C, H, W] from hwc[H, W, C] in the
// 0..255 range. mean and std have one entry per channel.
void NormalizeToChw(const float* hwc, int height, int width, int channels,
                    const std::vector<float>& mean, const std::vector<float>& std, float* out);

// out[C, H, W] = the image's pixels, channels first (the uint8 batch's layout).
void PixelsToChw(const Image& image, uint8_t* out);

// Mosaic geometry. A grid x grid mosaic of an out_h x out_w canvas: cell i (row-major,
// r = i / grid, c = i % grid) covers rows [r * out_h / grid, (r + 1) * out_h / grid) and columns
// [c * out_w / grid, (c + 1) * out_w / grid) (integer division, so the cells tile the canvas
// exactly; sizes differ by at most one pixel). Every source image is bilinearly resized to fill
// its cell (aspect ratio not kept). The target item goes into `target_cell`, which the caller
// draws at random; the title still names only the target.
struct MosaicCell {
  int y0, x0, y1, x1;  // half-open pixel rectangle
};
std::vector<MosaicCell> MosaicCells(int grid, int out_h, int out_w);
// `others` holds grid * grid - 1 images in cell order, skipping the target's cell; a null entry
// leaves its cell mid-gray (128).
Image Mosaic(const Image& target, const std::vector<const Image*>& others, int grid,
             int target_cell, int out_h, int out_w);

}  // namespace tigerfg::data
