// ops/cuda/flash_attention_dq.cu — the fused attention backward's elementwise passes around its
// main kernel: delta = <dout, out> per row before it, dQ written from the fp32 accumulator or
// summed from the key tiles' shares in order (deterministic) after it.
#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/common.cuh"
#include "ops/cuda/flash_attention_dq.h"

namespace tigerfg::ops::cuda {
namespace {

using bf16 = __nv_bfloat16;

// delta[b, h, s] = <dout, out> over head h's columns of token s (one warp per row), and
// dq_acc zeroed (the backward adds into it).
__global__ void FlashDeltaKernel(const bf16* dout, const bf16* out, float* delta, float* dq_acc,
                                 int64_t rows, int S, int D, int H, int d) {
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= rows) return;  // rows = B · H · S, ordered (b, h, s)
  const int64_t b = warp / (static_cast<int64_t>(H) * S);
  const int h = static_cast<int>((warp / S) % H);
  const int s = static_cast<int>(warp % S);
  const int64_t at = (b * S + s) * static_cast<int64_t>(D) + h * d;
  float sum = 0.0f;
  for (int c = lane; c < d; c += 32) {
    sum += __bfloat162float(dout[at + c]) * __bfloat162float(out[at + c]);
    dq_acc[at + c] = 0.0f;
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) delta[warp] = sum;
}

// The q third of dqkv from the fp32 accumulator.
__global__ void FlashWriteDqKernel(const float* dq_acc, bf16* dqkv, int64_t tokens, int D) {
  const int64_t total = tokens * D;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dqkv[(i / D) * 3 * D + i % D] = __float2bfloat16_rn(dq_acc[i]);
  }
}

// The q third of dqkv as the sum of the key tiles' shares share[k, tokens, D], k = 0, 1, ... in
// order (the deterministic backward).
__global__ void FlashSumDqSharesKernel(const float* share, int shares, bf16* dqkv, int64_t tokens,
                                       int D) {
  const int64_t total = tokens * D;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.0f;
    for (int k = 0; k < shares; ++k) sum += share[k * total + i];
    dqkv[(i / D) * 3 * D + i % D] = __float2bfloat16_rn(sum);
  }
}

}  // namespace

void LaunchFlashDelta(const Context& ctx, const bf16* dout, const bf16* out, float* delta,
                      float* dq_acc, int64_t rows, int S, int D, int H, int d) {
  FlashDeltaKernel<<<static_cast<unsigned>((rows * 32 + kThreads - 1) / kThreads), kThreads, 0,
                     Stream(ctx)>>>(dout, out, delta, dq_acc, rows, S, D, H, d);
  CUDA_CHECK_LAUNCH();
}

void LaunchFlashWriteDq(const Context& ctx, const float* dq_acc, bf16* dqkv, int64_t tokens,
                        int D) {
  FlashWriteDqKernel<<<GridFor(tokens * D), kThreads, 0, Stream(ctx)>>>(dq_acc, dqkv, tokens, D);
  CUDA_CHECK_LAUNCH();
}

void LaunchFlashSumDqShares(const Context& ctx, const float* share, int shares, bf16* dqkv,
                            int64_t tokens, int D) {
  FlashSumDqSharesKernel<<<GridFor(tokens * D), kThreads, 0, Stream(ctx)>>>(share, shares, dqkv,
                                                                            tokens, D);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
