// ops/cuda/patch_embed.cu — ViT patch embedding on CUDA: an im2col kernel into `cols`, then the
// Linear twin (one GEMM against w viewed as [D, C·p·p]).
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace tigerfg::ops::cuda {
namespace {

// cols[b, gy·grid_w + gx, (c·p + ky)·p + kx] = img[b, c, gy·p + ky, gx·p + kx], one element per
// thread (consecutive threads walk kx, then ky, so reads along an image row coalesce).
__global__ void Im2ColKernel(float* cols, const float* img, int64_t B, int64_t C, int64_t H,
                             int64_t W, int64_t p) {
  const int64_t grid_w = W / p, P = (H / p) * grid_w, K = C * p * p;
  const int64_t total = B * P * K;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = idx % K, patch = (idx / K) % P, b = idx / (P * K);
    const int64_t c = k / (p * p), ky = (k / p) % p, kx = k % p;
    const int64_t gy = patch / grid_w, gx = patch % grid_w;
    cols[idx] = img[((b * C + c) * H + gy * p + ky) * W + gx * p + kx];
  }
}

}  // namespace

void PatchEmbedForward(const Context& ctx, Tensor out, Tensor cols, const Tensor& img,
                       const Tensor& w, const Tensor& bias, int patch) {
  CHECK_GT(patch, 0) << "patch_embed: patch size " << patch;
  CHECK_EQ(img.ndim(), 4) << "patch_embed: image must be [B, C, H, W], got "
                          << img.shape().ToString();
  const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3);
  CHECK(H % patch == 0 && W % patch == 0)
      << "patch_embed: image " << img.shape().ToString() << " not divisible by patch " << patch;
  const int64_t p = patch, P = (H / p) * (W / p), K = C * p * p;
  CHECK(w.ndim() == 4 && w.dim(1) == C && w.dim(2) == p && w.dim(3) == p)
      << "patch_embed: weight " << w.shape().ToString() << " for " << C << " channels, patch " << p;
  const int64_t D = w.dim(0);
  CheckF32Shape(cols, Shape({B, P, K}), "patch_embed", "cols");
  CheckF32Shape(out, Shape({B, P, D}), "patch_embed", "out");
  if (B * P * K > 0) {
    Im2ColKernel<<<GridFor(B * P * K), kThreads, 0, Stream(ctx)>>>(cols.f32(), img.f32(), B, C, H,
                                                                   W, p);
    CUDA_CHECK_LAUNCH();
  }
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
  CHECK(cols.dim(2) == K && dout.dim(0) == cols.dim(0) && dout.dim(1) == cols.dim(1) &&
        dout.dim(2) == D)
      << "patch_embed: dout " << dout.shape().ToString() << ", cols " << cols.shape().ToString()
      << ", dw " << dw.shape().ToString();
  LinearBackward(ctx, Tensor(), dw.View({D, K}), dbias, dout.View({rows, D}), cols.View({rows, K}),
                 Tensor());
}

}  // namespace tigerfg::ops::cuda
