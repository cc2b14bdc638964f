// ops/cuda/patch_embed.cu — the CUDA twin of the patch embedding's im2col (the GEMM after it is
// the Linear op's own twin).
#include "ops/backend.h"
#include "ops/cuda/common.cuh"

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

void Im2Col(const Context& ctx, Tensor cols, const Tensor& img, int patch) {
  // Shapes were checked by the public entry point (ops/patch_embed.cc).
  const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3), p = patch;
  const int64_t total = cols.numel();
  if (total == 0) return;
  Im2ColKernel<<<GridFor(total), kThreads, 0, Stream(ctx)>>>(cols.f32(), img.f32(), B, C, H, W, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
