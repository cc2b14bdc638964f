// tests/data/image_test.cc — JPEG round trip and corruption, resize against hand-computed values,
// normalisation, flips and mosaic geometry.
#include <gtest/gtest.h>

#include <cstdlib>

#include "runtime/data/image_ops.h"
#include "runtime/data/jpeg.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

Image Gray(int h, int w, std::vector<uint8_t> values) {
  Image image(h, w, 1);
  image.pixels = std::move(values);
  return image;
}

TEST(Jpeg, RoundTripKeepsSizeAndPixelsClose) {
  Image image(24, 40, 3);
  for (int y = 0; y < 24; ++y) {
    for (int x = 0; x < 40; ++x) {
      image.at(y, x)[0] = static_cast<uint8_t>(6 * x);
      image.at(y, x)[1] = static_cast<uint8_t>(10 * y);
      image.at(y, x)[2] = 128;
    }
  }
  const std::string bytes = EncodeJpeg(image, 95).value();
  StatusOr<Image> decoded = DecodeJpeg(bytes, "round.jpg");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->height, 24);
  ASSERT_EQ(decoded->width, 40);
  ASSERT_EQ(decoded->channels, 3);
  double err = 0;
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    err += std::abs(int{image.pixels[i]} - int{decoded->pixels[i]});
  }
  EXPECT_LT(err / image.pixels.size(), 3.0);

  StatusOr<Image> gray = DecodeJpeg(EncodeJpeg(Gray(2, 2, {0, 50, 100, 150}), 100).value(), "g");
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->channels, 3);  // expanded to RGB
}

TEST(Jpeg, CorruptDataIsAStatusNamingTheSample) {
  const std::string bytes = EncodeJpeg(testing::CodedImage(7, 32), 90).value();
  StatusOr<Image> truncated = DecodeJpeg(bytes.substr(0, bytes.size() / 2), "shard.tar:k.item.jpg");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("shard.tar:k.item.jpg"), std::string::npos);
  EXPECT_FALSE(DecodeJpeg(std::string("not a jpeg at all"), "x").ok());
  EXPECT_FALSE(DecodeJpeg(std::string(), "x").ok());
  std::string garbled = bytes;
  for (size_t i = 20; i < 60; ++i) garbled[i] = static_cast<char>(0xFF);
  EXPECT_FALSE(DecodeJpeg(garbled, "x").ok());
}

TEST(Resize, MatchesHandComputedAlignCornersFalse) {
  // Upsampling 2 -> 4: sources max(0, (x + .5) / 2 - .5) = 0, .25, .75, 1.25 (edge-clamped).
  std::vector<float> up = ResizeBilinearF32(Gray(1, 2, {0, 100}), 1, 4);
  EXPECT_EQ(up, (std::vector<float>{0, 25, 75, 100}));
  // Downsampling 4 -> 2: sources .5 and 2.5.
  EXPECT_EQ(ResizeBilinearF32(Gray(1, 4, {10, 20, 30, 50}), 1, 2), (std::vector<float>{15, 40}));
  // 3 -> 2: sources .25 and 1.75.
  EXPECT_EQ(ResizeBilinearF32(Gray(1, 3, {0, 90, 180}), 1, 2), (std::vector<float>{22.5, 157.5}));
  // 2x2 -> 4x4, pixel (1, 1): rows 0/1 at weight .25, columns 0/1 at .25.
  std::vector<float> grid = ResizeBilinearF32(Gray(2, 2, {0, 100, 200, 40}), 4, 4);
  EXPECT_FLOAT_EQ(grid[1 * 4 + 1], 0.75f * 25 + 0.25f * 160);
  EXPECT_FLOAT_EQ(grid[3 * 4 + 3], 40);
  EXPECT_FLOAT_EQ(grid[0], 0);
  EXPECT_EQ(ResizeBilinear(Gray(1, 2, {0, 101}), 1, 4).pixels,
            (std::vector<uint8_t>{0, 25, 76, 101}));  // 25.25 and 75.75 rounded
}

TEST(ImageOps, NormalizeFlipAndCrop) {
  Image rgb(1, 2, 3);
  rgb.pixels = {255, 0, 51, 0, 255, 102};
  std::vector<float> hwc(rgb.pixels.begin(), rgb.pixels.end());
  std::vector<float> chw(6);
  NormalizeToChw(hwc.data(), 1, 2, 3, {0.5f, 0.5f, 0.0f}, {0.5f, 0.25f, 1.0f}, chw.data());
  EXPECT_FLOAT_EQ(chw[0], 1.0f);   // c0 x0: (1 - .5) / .5
  EXPECT_FLOAT_EQ(chw[1], -1.0f);  // c0 x1
  EXPECT_FLOAT_EQ(chw[2], -2.0f);  // c1 x0: (0 - .5) / .25
  EXPECT_FLOAT_EQ(chw[3], 2.0f);
  EXPECT_FLOAT_EQ(chw[4], 0.2f);
  EXPECT_FLOAT_EQ(chw[5], 0.4f);
  EXPECT_EQ(FlipHorizontal(rgb).pixels, (std::vector<uint8_t>{0, 255, 102, 255, 0, 51}));
  EXPECT_EQ(Crop(Gray(3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}), 1, 1, 2, 2).pixels,
            (std::vector<uint8_t>{5, 6, 8, 9}));
}

TEST(Mosaic, CellsTileTheCanvasExactly) {
  const std::vector<MosaicCell> cells = MosaicCells(2, 5, 7);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[1].y0, 0);
  EXPECT_EQ(cells[1].x0, 3);
  EXPECT_EQ(cells[1].y1, 2);
  EXPECT_EQ(cells[1].x1, 7);
  EXPECT_EQ(cells[2].y0, 2);
  EXPECT_EQ(cells[2].y1, 5);
  for (int grid : {1, 2, 3, 5}) {
    std::vector<int> cover(64 * 50, 0);
    for (const MosaicCell& c : MosaicCells(grid, 64, 50)) {
      for (int y = c.y0; y < c.y1; ++y) {
        for (int x = c.x0; x < c.x1; ++x) ++cover[y * 50 + x];
      }
    }
    for (int v : cover) ASSERT_EQ(v, 1) << "grid " << grid;
  }
}

TEST(Mosaic, TargetLandsInItsCellAndOthersFillTheRest) {
  auto solid = [](uint8_t v) { return Image(4, 4, 3, v); };
  const Image target = solid(200), a = solid(10), b = solid(20);
  const Image out = Mosaic(target, {&a, nullptr, &b}, 2, /*target_cell=*/2, 8, 6);
  ASSERT_EQ(out.height, 8);
  ASSERT_EQ(out.width, 6);
  EXPECT_EQ(out.at(0, 0)[0], 10);   // cell 0: first other
  EXPECT_EQ(out.at(3, 5)[1], 128);  // cell 1: no partner, mid-gray
  EXPECT_EQ(out.at(4, 0)[2], 200);  // cell 2: the target
  EXPECT_EQ(out.at(7, 2)[0], 200);
  EXPECT_EQ(out.at(7, 5)[0], 20);  // cell 3
}

}  // namespace
}  // namespace tigerfg::data
