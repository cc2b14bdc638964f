// ops/cuda/attention.cu — multi-head self-attention core on CUDA: per head, batched cuBLASLt
// GEMMs over the batch read q/k/v in place from the qkv layout, and a masked row-softmax kernel.
#include <cmath>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

// Softmax of each row [S] of probs [B, H, S, S] in place over the keys with key_valid[b, j] != 0
// (all when key_valid is null); masked keys get exactly 0, a row with no valid key all zeros.
__global__ void MaskedSoftmaxKernel(float* probs, const uint8_t* key_valid, int64_t H, int64_t S) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t row = blockIdx.x;
  const int64_t b = row / (H * S);
  float* p = probs + row * S;
  const uint8_t* valid = key_valid == nullptr ? nullptr : key_valid + b * S;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) {
    if (valid == nullptr || valid[j] != 0) m = fmaxf(m, p[j]);
  }
  m = BlockMax(m, shared_max);
  if (m == -INFINITY) {
    for (int64_t j = threadIdx.x; j < S; j += blockDim.x) p[j] = 0.0f;
    return;
  }
  double sum = 0;
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) {
    const float e = (valid == nullptr || valid[j] != 0) ? expf(p[j] - m) : 0.0f;
    p[j] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / BlockSum(sum, shared));
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) p[j] *= inv;
}

// dS = P ⊙ (dP - <P, dP>) · scale per row, in place over dP.
__global__ void SoftmaxGradKernel(float* dp, const float* probs, int64_t S, float scale) {
  __shared__ double shared[32];
  const int64_t row = blockIdx.x;
  float* g = dp + row * S;
  const float* p = probs + row * S;
  double dot = 0;
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) dot += static_cast<double>(p[j]) * g[j];
  const float d = static_cast<float>(BlockSum(dot, shared));
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) g[j] = p[j] * (g[j] - d) * scale;
}

// One GEMM per head, batched over b: matrices of sample b are `stride` elements apart.
struct HeadGemm {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda, stride_a;
  const float* B;
  int64_t ldb, stride_b;
  float* C;
  int64_t ldc, stride_c;
};

void RunBatched(const Context& ctx, const HeadGemm& h, int64_t batch) {
  GemmArgs g;
  g.trans_a = h.trans_a;
  g.trans_b = h.trans_b;
  g.M = h.M;
  g.N = h.N;
  g.K = h.K;
  g.alpha = h.alpha;
  g.A = h.A;
  g.lda = h.lda;
  g.stride_a = h.stride_a;
  g.B = h.B;
  g.ldb = h.ldb;
  g.stride_b = h.stride_b;
  g.C = h.C;
  g.ldc = h.ldc;
  g.stride_c = h.stride_c;
  g.batch = batch;
  Gemm(ctx, g);
}

}  // namespace

void SelfAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv,
                          const Tensor& key_valid, int heads) {
  // Arguments were checked by the public entry point (ops/attention.cc).
  const auto [B, S, D, H, d] = QkvDims(qkv, heads);
  const auto* valid = key_valid.defined() ? static_cast<const uint8_t*>(key_valid.data()) : nullptr;
  if (B == 0 || S == 0 || D == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float* pqkv = qkv.f32();
  for (int64_t h = 0; h < H; ++h) {
    // scores[b, h] = q_bh k_bh^T · scale, written into probs.
    RunBatched(ctx,
               {false, true, S, S, d, scale, pqkv + h * d, 3 * D, S * 3 * D, pqkv + D + h * d,
                3 * D, S * 3 * D, probs.f32() + h * S * S, S, H * S * S},
               B);
  }
  MaskedSoftmaxKernel<<<static_cast<unsigned>(B * H * S), kThreads, 0, Stream(ctx)>>>(probs.f32(),
                                                                                      valid, H, S);
  CUDA_CHECK_LAUNCH();
  for (int64_t h = 0; h < H; ++h) {
    // out[b, :, h] = probs[b, h] · v_bh
    RunBatched(ctx,
               {false, false, S, d, S, 1.0f, probs.f32() + h * S * S, S, H * S * S,
                pqkv + 2 * D + h * d, 3 * D, S * 3 * D, out.f32() + h * d, D, S * D},
               B);
  }
}

void SelfAttentionBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                           const Tensor& probs, int heads) {
  const auto [B, S, D, H, d] = QkvDims(qkv, heads);  // checked by the public entry point
  if (B == 0 || S == 0 || D == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float* pqkv = qkv.f32();
  const float* pdout = dout.f32();
  const float* pp = probs.f32();
  float* pdqkv = dqkv.f32();
  Scratch ds(ctx, static_cast<size_t>(B * H * S * S) * sizeof(float));
  for (int64_t h = 0; h < H; ++h) {
    // dP[b, h] = dO_bh · v_bh^T
    RunBatched(ctx,
               {false, true, S, S, d, 1.0f, pdout + h * d, D, S * D, pqkv + 2 * D + h * d, 3 * D,
                S * 3 * D, ds.f32() + h * S * S, S, H * S * S},
               B);
  }
  SoftmaxGradKernel<<<static_cast<unsigned>(B * H * S), kThreads, 0, Stream(ctx)>>>(ds.f32(), pp, S,
                                                                                    scale);
  CUDA_CHECK_LAUNCH();
  for (int64_t h = 0; h < H; ++h) {
    const float* ds_h = ds.f32() + h * S * S;
    // dq = dS · k
    RunBatched(ctx,
               {false, false, S, d, S, 1.0f, ds_h, S, H * S * S, pqkv + D + h * d, 3 * D, S * 3 * D,
                pdqkv + h * d, 3 * D, S * 3 * D},
               B);
    // dk = dS^T · q
    RunBatched(ctx,
               {true, false, S, d, S, 1.0f, ds_h, S, H * S * S, pqkv + h * d, 3 * D, S * 3 * D,
                pdqkv + D + h * d, 3 * D, S * 3 * D},
               B);
    // dv = P^T · dO
    RunBatched(ctx,
               {true, false, S, d, S, 1.0f, pp + h * S * S, S, H * S * S, pdout + h * d, D, S * D,
                pdqkv + 2 * D + h * d, 3 * D, S * 3 * D},
               B);
  }
}

}  // namespace tigerfg::ops::cuda
