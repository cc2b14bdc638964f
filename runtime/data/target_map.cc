// runtime/data/target_map.cc — box to patch-coverage map (see the header).
#include "runtime/data/target_map.h"

#include <algorithm>
#include <string>

namespace tigerfg::data {

Status BoxToPatchMap(const PixelBox& box, int grid, bool flipped, const std::string& where,
                     float* out) {
  if (grid <= 0) return Status::Error(where + ": patch grid " + std::to_string(grid));
  if (box.empty()) return Status::Error(where + ": target_box is empty or missing");
  // The box in grid units: patch (r, c) covers [r, r + 1) x [c, c + 1).
  const double sy = grid / box.canvas_h, sx = grid / box.canvas_w;
  const double y0 = std::max(0.0, box.y0 * sy), y1 = std::min<double>(grid, box.y1 * sy);
  double x0 = std::max(0.0, box.x0 * sx), x1 = std::min<double>(grid, box.x1 * sx);
  if (flipped) {
    const double fx0 = grid - x1, fx1 = grid - x0;
    x0 = fx0;
    x1 = fx1;
  }
  double total = 0;
  std::vector<double> area(static_cast<size_t>(grid) * grid, 0.0);
  for (int r = 0; r < grid; ++r) {
    const double h = std::min(y1, r + 1.0) - std::max(y0, double(r));
    if (h <= 0) continue;
    for (int c = 0; c < grid; ++c) {
      const double w = std::min(x1, c + 1.0) - std::max(x0, double(c));
      if (w <= 0) continue;
      area[r * grid + c] = h * w;
      total += h * w;
    }
  }
  if (!(total > 0)) return Status::Error(where + ": target_box lies outside the image");
  for (size_t k = 0; k < area.size(); ++k) out[k] = static_cast<float>(area[k] / total);
  return Status::Ok();
}

PixelBox BoxInCell(const PixelBox& box, int cell_y0, int cell_x0, int cell_y1, int cell_x1,
                   int out_h, int out_w) {
  PixelBox b;
  const double sy = (cell_y1 - cell_y0) / box.canvas_h, sx = (cell_x1 - cell_x0) / box.canvas_w;
  b.y0 = cell_y0 + box.y0 * sy;
  b.y1 = cell_y0 + box.y1 * sy;
  b.x0 = cell_x0 + box.x0 * sx;
  b.x1 = cell_x0 + box.x1 * sx;
  b.canvas_h = out_h;
  b.canvas_w = out_w;
  return b;
}

}  // namespace tigerfg::data
