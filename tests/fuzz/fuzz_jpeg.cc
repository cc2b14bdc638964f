// tests/fuzz/fuzz_jpeg.cc — the JPEG decode path of a sample: DecodeJpeg on arbitrary bytes, then
// (as the sample decoder does) a resize of what it accepted.
#include "runtime/data/image_ops.h"
#include "runtime/data/jpeg.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tigerfg::fuzz::Require;
  auto image = tigerfg::data::DecodeJpeg(data, size, "fuzz.jpg");
  if (!image.ok()) return 0;
  Require(image->channels == 3 && image->height > 0 && image->width > 0,
          "decoded an empty or non-RGB image");
  const tigerfg::data::Image small = tigerfg::data::ResizeBilinear(*image, 16, 16);
  Require(small.height == 16 && small.width == 16, "resize to 16x16 failed");
  return 0;
}
