// ops/cpu/images.cc — NormalizeImages on the CPU backend: one plane (row of B x C) per iteration,
// OpenMP over the planes.
#include "ops/backend.h"

namespace tigerfg::ops::cpu {

void NormalizeImages(const Context& /*ctx*/, Tensor out, const Tensor& in, const ImageNorm& norm) {
  const int64_t channels = in.shape()[1];
  const int64_t planes = in.shape()[0] * channels;
  const int64_t plane = in.shape()[2] * in.shape()[3];
  const auto* src = static_cast<const uint8_t*>(in.data());
  float* dst = out.f32();
#pragma omp parallel for if (planes * plane > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const float scale = norm.scale[p % channels], shift = norm.shift[p % channels];
    const uint8_t* s = src + p * plane;
    float* d = dst + p * plane;
    for (int64_t i = 0; i < plane; ++i)
      d[i] = NormalizedPixel(static_cast<float>(s[i]), scale, shift);
  }
}

}  // namespace tigerfg::ops::cpu
