// ops/patch_embed.cc — the public patch embedding: Im2Col through the backend table, then the
// Linear ops (one GEMM against w viewed as [D, C·p·p]); the backward is Linear's alone.
#include "ops/patch_embed.h"

#include <algorithm>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/linear.h"

namespace tigerfg::ops {
namespace {

// img [B, C, H, W] cut into patch x patch tiles: P = (H/p)·(W/p) patches of K = C·p·p values.
struct PatchGrid {
  int64_t B, C, P, K;
};

PatchGrid CheckPatchImage(const Tensor& img, int patch) {
  CHECK_GT(patch, 0) << "patch_embed: patch size " << patch;
  CHECK_EQ(img.ndim(), 4) << "patch_embed: image must be [B, C, H, W], got "
                          << img.shape().ToString();
  const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3);
  CHECK(H % patch == 0 && W % patch == 0)
      << "patch_embed: image " << img.shape().ToString() << " not divisible by patch " << patch;
  return {B, C, (H / patch) * (W / patch), C * patch * patch};
}

}  // namespace

void Im2Col(const Context& ctx, Tensor cols, const Tensor& img, int patch) {
  const auto [B, C, P, K] = CheckPatchImage(img, patch);
  CHECK(cols.shape() == Shape({B, P, K})) << "patch_embed: cols " << cols.shape().ToString()
                                          << ", expected [" << B << ", " << P << ", " << K << "]";
  CHECK(img.dtype() == DType::kF32 && cols.dtype() == DType::kF32)
      << "patch_embed: image and cols must be F32";
  BackendForOp(ctx, OpKind::kIm2Col).im2col(ctx, cols, img, patch);
}

void PatchEmbedForward(const Context& ctx, Tensor out, Tensor cols, const Tensor& img,
                       const Tensor& w, const Tensor& bias, int patch) {
  const auto [B, C, P, K] = CheckPatchImage(img, patch);
  const int64_t p = patch;
  CHECK(w.ndim() == 4 && w.dim(1) == C && w.dim(2) == p && w.dim(3) == p)
      << "patch_embed: weight " << w.shape().ToString() << " for " << C << " channels, patch " << p;
  const int64_t D = w.dim(0);
  CHECK(out.shape() == Shape({B, P, D})) << "patch_embed: out " << out.shape().ToString()
                                         << ", expected [" << B << ", " << P << ", " << D << "]";
  Im2Col(ctx, cols, img, patch);  // checks cols
  LinearForward(ctx, out.View({B * P, D}), cols.View({B * P, K}), w.View({D, K}), bias);
}

void PatchEmbedBackward(const Context& ctx, Tensor dw, Tensor dbias, const Tensor& dout,
                        const Tensor& cols) {
  CHECK_EQ(dw.ndim(), 4) << "patch_embed: dw must be [D, C, p, p], got " << dw.shape().ToString();
  CHECK_EQ(cols.ndim(), 3) << "patch_embed: cols must be [B, P, K], got "
                           << cols.shape().ToString();
  CHECK_EQ(dout.ndim(), 3) << "patch_embed: dout must be [B, P, D], got "
                           << dout.shape().ToString();
  const int64_t D = dw.dim(0), K = dw.numel() / std::max<int64_t>(D, 1);
  const int64_t rows = cols.dim(0) * cols.dim(1);
  CHECK_EQ(cols.dim(2), K) << "patch_embed: cols " << cols.shape().ToString() << " vs dw "
                           << dw.shape().ToString();
  CHECK(dout.dim(0) == cols.dim(0) && dout.dim(1) == cols.dim(1) && dout.dim(2) == D)
      << "patch_embed: dout " << dout.shape().ToString() << " vs cols " << cols.shape().ToString()
      << " and dw " << dw.shape().ToString();
  LinearBackward(ctx, Tensor(), dw.View({D, K}), dbias, dout.View({rows, D}), cols.View({rows, K}),
                 Tensor());
}

}  // namespace tigerfg::ops
