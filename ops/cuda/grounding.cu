// ops/cuda/grounding.cu — grounding cross-attention (one guide query per sample over N patch
// tokens) and the head mean of its map on CUDA: one block per (batch, head) pair.
#include <cmath>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

// probs[b, h, :] = softmax_n(q_h · k_hn · scale); out[b, h·d : (h+1)·d] = probs · v_h.
// The block writes the raw scores into probs and re-reads them after the barriers of the
// reductions (global writes are visible to the block after __syncthreads).
__global__ void GroundingForwardKernel(float* out, float* probs, const float* q, const float* kv,
                                       int64_t N, int64_t D, int64_t H, float scale) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t pair = blockIdx.x, b = pair / H, h = pair % H, d = D / H;
  const float* qh = q + b * D + h * d;
  const float* k_base = kv + b * N * 2 * D + h * d;
  const float* v_base = k_base + D;
  float* p = probs + pair * N;
  float m = -INFINITY;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const float* kn = k_base + n * 2 * D;
    float s = 0;
    for (int64_t c = 0; c < d; ++c) s += qh[c] * kn[c];
    p[n] = s * scale;
    m = fmaxf(m, p[n]);
  }
  m = BlockMax(m, shared_max);
  double sum = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const float e = expf(p[n] - m);
    p[n] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / BlockSum(sum, shared));
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) p[n] *= inv;
  __syncthreads();
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += p[n] * v_base[n * 2 * D + c];
    out[b * D + h * d + c] = acc;
  }
}

// ds[pair, n] = dprobs + dout_h · v_n; dS_n = p_n (ds_n - <p, ds>) · scale;
// dq_h = Σ_n dS_n k_n, dk_n = dS_n q_h, dv_n = p_n dout_h.
__global__ void GroundingBackwardKernel(float* dq, float* dkv, float* ds, const float* dout,
                                        const float* dprobs, const float* q, const float* kv,
                                        const float* probs, int64_t N, int64_t D, int64_t H,
                                        float scale) {
  __shared__ double shared[32];
  const int64_t pair = blockIdx.x, b = pair / H, h = pair % H, d = D / H;
  const float* qh = q + b * D + h * d;
  const float* doh = dout + b * D + h * d;
  const float* k_base = kv + b * N * 2 * D + h * d;
  const float* v_base = k_base + D;
  const float* p = probs + pair * N;
  float* g = ds + pair * N;
  double dot = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const float* vn = v_base + n * 2 * D;
    float acc = dprobs != nullptr ? dprobs[pair * N + n] : 0.0f;
    for (int64_t c = 0; c < d; ++c) acc += doh[c] * vn[c];
    g[n] = acc;
    dot += static_cast<double>(p[n]) * acc;
  }
  const float pd = static_cast<float>(BlockSum(dot, shared));  // barrier: g is visible after it
  float* dk_base = dkv + b * N * 2 * D + h * d;
  float* dv_base = dk_base + D;
  for (int64_t idx = threadIdx.x; idx < N * d; idx += blockDim.x) {
    const int64_t n = idx / d, c = idx % d;
    const float dsn = p[n] * (g[n] - pd) * scale;
    dk_base[n * 2 * D + c] = dsn * qh[c];
    dv_base[n * 2 * D + c] = p[n] * doh[c];
  }
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += p[n] * (g[n] - pd) * scale * k_base[n * 2 * D + c];
    dq[b * D + h * d + c] = acc;
  }
}

__global__ void HeadMeanForwardKernel(float* amap, const float* probs, int64_t B, int64_t H,
                                      int64_t N) {
  const float inv = 1.0f / static_cast<float>(H);
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < B * N;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = idx / N, n = idx % N;
    float acc = 0;
    for (int64_t h = 0; h < H; ++h) acc += probs[(b * H + h) * N + n];
    amap[idx] = acc * inv;
  }
}

__global__ void HeadMeanBackwardKernel(float* dprobs, const float* damap, int64_t B, int64_t H,
                                       int64_t N) {
  const float inv = 1.0f / static_cast<float>(H);
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < B * H * N;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = idx / (H * N), n = idx % N;
    dprobs[idx] = damap[b * N + n] * inv;
  }
}

}  // namespace

void GroundingAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& q,
                               const Tensor& kv, int heads) {
  const auto [B, N, D, H, d] = QueryKeyDims(q, kv, heads);  // checked by ops/grounding.cc
  if (B == 0 || D == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  GroundingForwardKernel<<<static_cast<unsigned>(B * H), kThreads, 0, Stream(ctx)>>>(
      out.f32(), probs.f32(), q.f32(), kv.f32(), N, D, H, scale);
  CUDA_CHECK_LAUNCH();
}

void GroundingAttentionBackward(const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout,
                                const Tensor& dprobs, const Tensor& q, const Tensor& kv,
                                const Tensor& probs, int heads) {
  const auto [B, N, D, H, d] = QueryKeyDims(q, kv, heads);  // checked by ops/grounding.cc
  if (B == 0 || D == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  Scratch ds(ctx, static_cast<size_t>(B * H * N) * sizeof(float));
  GroundingBackwardKernel<<<static_cast<unsigned>(B * H), kThreads, 0, Stream(ctx)>>>(
      dq.f32(), dkv.f32(), ds.f32(), dout.f32(), dprobs.defined() ? dprobs.f32() : nullptr, q.f32(),
      kv.f32(), probs.f32(), N, D, H, scale);
  CUDA_CHECK_LAUNCH();
}

void HeadMeanForward(const Context& ctx, Tensor amap, const Tensor& probs) {
  const int64_t B = probs.dim(0), H = probs.dim(1), N = probs.dim(2);  // checked on entry
  if (B * N == 0) return;
  HeadMeanForwardKernel<<<GridFor(B * N), kThreads, 0, Stream(ctx)>>>(amap.f32(), probs.f32(), B, H,
                                                                      N);
  CUDA_CHECK_LAUNCH();
}

void HeadMeanBackward(const Context& ctx, Tensor dprobs, const Tensor& damap) {
  const int64_t B = dprobs.dim(0), H = dprobs.dim(1), N = dprobs.dim(2);  // checked on entry
  if (B * H * N == 0) return;
  HeadMeanBackwardKernel<<<GridFor(B * H * N), kThreads, 0, Stream(ctx)>>>(dprobs.f32(),
                                                                           damap.f32(), B, H, N);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
