// runtime/core/image_norm.h — the per-channel image normalisation (pixel / 255 - mean) / std as one
// scale and shift per channel, shared by the loader's float path and ops::NormalizeImages so that
// a uint8 batch normalised later is bit-identical to the float batch the loader writes.
#pragma once

#include <glog/logging.h>

#include <cmath>
#include <vector>

namespace tigerfg {

struct ImageNorm {
  static constexpr int kMaxChannels = 64;  // configs/limits.h kMaxChannels
  int channels = 0;
  float scale[kMaxChannels] = {};  // 1 / (255 std[c])
  float shift[kMaxChannels] = {};  // mean[c] / std[c]
};

// The one formula: a pixel p in 0..255 becomes p * scale - shift in one fused multiply-add (one
// rounding), spelled out on both sides (std::fma here, __fmaf_rn in the CUDA twin): a plain
// `pixel * scale - shift` is contracted into an FMA by the compilers (-mfma, GCC's default
// -ffp-contract=fast), so its bits depended on the build, and differed from CUDA's.
inline float NormalizedPixel(float pixel, float scale, float shift) {
  return std::fma(pixel, scale, -shift);
}

// From per-channel mean and std (on pixel / 255); one entry per channel, at most kMaxChannels.
inline ImageNorm MakeImageNorm(const std::vector<float>& mean, const std::vector<float>& std) {
  CHECK_EQ(mean.size(), std.size());
  CHECK_LE(mean.size(), static_cast<size_t>(ImageNorm::kMaxChannels));
  ImageNorm n;
  n.channels = static_cast<int>(mean.size());
  for (int c = 0; c < n.channels; ++c) {
    n.scale[c] = 1.0f / (255.0f * std[c]);
    n.shift[c] = mean[c] / std[c];
  }
  return n;
}

}  // namespace tigerfg
