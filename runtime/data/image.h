// runtime/data/image.h — an 8-bit image in host memory, rows of interleaved channels (HWC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tigerfg::data {

struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // [height, width, channels]

  Image() = default;
  Image(int h, int w, int c, uint8_t fill = 0)
      : height(h), width(w), channels(c), pixels(static_cast<size_t>(h) * w * c, fill) {}
  bool empty() const { return pixels.empty(); }
  uint8_t* at(int y, int x) { return &pixels[(static_cast<size_t>(y) * width + x) * channels]; }
  const uint8_t* at(int y, int x) const {
    return &pixels[(static_cast<size_t>(y) * width + x) * channels];
  }
};

}  // namespace tigerfg::data
