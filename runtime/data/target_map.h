// runtime/data/target_map.h — a listing's product box as a distribution over the item image's
// patches: SRD's target with model.srd_target MASK (the known product mask as the teacher).
#pragma once

#include <vector>

#include "runtime/core/status.h"

namespace tigerfg::data {

// A box [y0, x0, y1, x1) in pixels of a canvas_h x canvas_w image (a listing JSON's target_box
// on its image_size canvas).
struct PixelBox {
  double y0 = 0, x0 = 0, y1 = 0, x1 = 0;
  double canvas_h = 0, canvas_w = 0;
  bool empty() const { return !(y1 > y0 && x1 > x0 && canvas_h > 0 && canvas_w > 0); }
};

// out[grid * grid] (row-major): the area of patch (r, c) that the box covers, with the canvas
// scaled onto a grid x grid patch grid, normalised so the entries sum to 1; mirrored
// left-right when `flipped` (the item image was flipped horizontally). The box is clipped to
// the canvas; an empty box (or one wholly outside) is an error naming `where`.
Status BoxToPatchMap(const PixelBox& box, int grid, bool flipped, const std::string& where,
                     float* out);

// The same box inside a sub-rectangle of the output canvas (a mosaic cell): the box scaled from
// its canvas onto rows [cell_y0, cell_y1) and columns [cell_x0, cell_x1) of an out_h x out_w
// canvas.
PixelBox BoxInCell(const PixelBox& box, int cell_y0, int cell_x0, int cell_y1, int cell_x1,
                   int out_h, int out_w);

}  // namespace tigerfg::data
