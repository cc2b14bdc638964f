// tests/ops/patch_embed_test.cc — PatchEmbed against a direct strided convolution (PyTorch's
// Conv2d(kernel=stride=p) then flatten(2).transpose(1, 2)) and central differences.
#include "ops/patch_embed.h"

#include <gtest/gtest.h>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::MaxRelativeError;
using testing::RandomBuffer;

constexpr int64_t B = 2, C = 3, H = 8, W = 12, p = 4, D = 5;
constexpr int64_t kGridH = H / p, kGridW = W / p, P = kGridH * kGridW, K = C * p * p;

// out[b, gy·grid_w + gx, d] = bias[d] + Σ_{c,ky,kx} w[d, c, ky, kx] img[b, c, gy·p+ky, gx·p+kx]
Buffer DirectConvolution(const Tensor& img, const Tensor& w, const Tensor& bias) {
  Buffer out = Buffer::Zeros({B, P, D});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t gy = 0; gy < kGridH; ++gy)
      for (int64_t gx = 0; gx < kGridW; ++gx)
        for (int64_t d = 0; d < D; ++d) {
          double s = bias.f32()[d];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < p; ++ky)
              for (int64_t kx = 0; kx < p; ++kx)
                s += static_cast<double>(w.f32()[((d * C + c) * p + ky) * p + kx]) *
                     img.f32()[((b * C + c) * H + gy * p + ky) * W + gx * p + kx];
          out.f32()[(b * P + gy * kGridW + gx) * D + d] = static_cast<float>(s);
        }
  return out;
}

TEST(PatchEmbed, ForwardMatchesDirectConvolution) {
  Rng rng(/*seed=*/11);
  const Context ctx = Context::Cpu();
  Buffer img = RandomBuffer({B, C, H, W}, rng), w = RandomBuffer({D, C, p, p}, rng),
         bias = RandomBuffer({D}, rng);
  Buffer out = Buffer::Zeros({B, P, D}), cols = Buffer::Zeros({B, P, K});
  PatchEmbedForward(ctx, out, cols, img, w, bias, p);
  EXPECT_LT(MaxRelativeError(out, DirectConvolution(img, w, bias)), 1e-5);
  // cols is channel-major within a patch: the element of w that multiplies it.
  const int64_t b = 1, gy = 1, gx = 2, c = 2, ky = 3, kx = 1;
  EXPECT_EQ(cols.f32()[(b * P + gy * kGridW + gx) * K + (c * p + ky) * p + kx],
            img.f32()[((b * C + c) * H + gy * p + ky) * W + gx * p + kx]);
}

TEST(PatchEmbed, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/12);
  const Context ctx = Context::Cpu();
  Buffer img = RandomBuffer({B, C, H, W}, rng), w = RandomBuffer({D, C, p, p}, rng),
         bias = RandomBuffer({D}, rng), proj = RandomBuffer({B, P, D}, rng);
  Buffer out = Buffer::Zeros({B, P, D}), cols = Buffer::Zeros({B, P, K});
  Buffer dw = Buffer::Zeros({D, C, p, p}), dbias = Buffer::Zeros({D});
  PatchEmbedForward(ctx, out, cols, img, w, bias, p);
  PatchEmbedBackward(ctx, dw, dbias, proj, cols);
  auto loss = [&] {
    PatchEmbedForward(ctx, out, cols, img, w, bias, p);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {w, bias}, {dw, dbias}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

TEST(PatchEmbed, BackwardAccumulates) {
  Rng rng(/*seed=*/13);
  const Context ctx = Context::Cpu();
  Buffer img = RandomBuffer({B, C, H, W}, rng), w = RandomBuffer({D, C, p, p}, rng),
         bias = RandomBuffer({D}, rng), dout = RandomBuffer({B, P, D}, rng);
  Buffer out = Buffer::Zeros({B, P, D}), cols = Buffer::Zeros({B, P, K});
  PatchEmbedForward(ctx, out, cols, img, w, bias, p);
  Buffer dw1 = Buffer::Zeros({D, C, p, p}), db1 = Buffer::Zeros({D});
  Buffer dw2 = Buffer::Zeros({D, C, p, p}), db2 = Buffer::Zeros({D});
  PatchEmbedBackward(ctx, dw1, db1, dout, cols);
  PatchEmbedBackward(ctx, dw2, db2, dout, cols);
  PatchEmbedBackward(ctx, dw2, db2, dout, cols);
  for (int64_t i = 0; i < dw1.numel(); ++i) EXPECT_NEAR(dw2.f32()[i], 2 * dw1.f32()[i], 1e-4);
  for (int64_t d = 0; d < D; ++d) EXPECT_NEAR(db2.f32()[d], 2 * db1.f32()[d], 1e-4);
}

}  // namespace
}  // namespace tigerfg::ops
