// ops/cpu/patch_embed.cc — the patch embedding's im2col on the CPU backend (the GEMM after it is
// the Linear op; ops/patch_embed.cc composes them).
#include <algorithm>

#include "ops/backend.h"

namespace tigerfg::ops::cpu {

// cols[b, gy·grid_w + gx, (c·p + ky)·p + kx] = img[b, c, gy·p + ky, gx·p + kx]; shapes checked by
// the public entry point.
void Im2Col(const Context& ctx, Tensor cols, const Tensor& img, int patch) {
  const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3), p = patch;
  const int64_t grid_h = H / p, grid_w = W / p, P = grid_h * grid_w, K = C * p * p;
  const float* src = img.f32();
  float* dst = cols.f32();
#pragma omp parallel for collapse(2) if (B * P * K > (1 << 15))
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t gy = 0; gy < grid_h; ++gy) {
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t ky = 0; ky < p; ++ky) {
          const float* in_row = src + ((b * C + c) * H + gy * p + ky) * W;
          for (int64_t gx = 0; gx < grid_w; ++gx) {
            float* patch_row = dst + (b * P + gy * grid_w + gx) * K + (c * p + ky) * p;
            std::copy(in_row + gx * p, in_row + gx * p + p, patch_row);
          }
        }
      }
    }
  }
}

}  // namespace tigerfg::ops::cpu
