// ops/cpu/grounding.cc — grounding cross-attention (one guide query per sample over N patch
// tokens) and the head mean of its map, on the CPU backend, one (batch, head) pair per OpenMP task.
#include "ops/grounding.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops::cpu {
void GroundingAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& q,
                               const Tensor& kv, int heads) {
  const auto [B, N, D, H, d] = QueryKeyDims(q, kv, heads);  // checked by ops/grounding.cc
  const float* pq = q.f32();
  const float* pkv = kv.f32();
  float* pout = out.f32();
  float* pprobs = probs.f32();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));

#pragma omp parallel for schedule(static) if (B * H * N * d > (1 << 14))
  for (int64_t pair = 0; pair < B * H; ++pair) {
    const int64_t b = pair / H, h = pair % H;
    const float* qh = pq + b * D + h * d;
    const float* k_base = pkv + b * N * 2 * D + h * d;
    const float* v_base = k_base + D;
    float* p = pprobs + pair * N;
    float m = -INFINITY;
    for (int64_t n = 0; n < N; ++n) {
      const float* kn = k_base + n * 2 * D;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < d; ++c) s += qh[c] * kn[c];
      p[n] = s * scale;
      m = std::max(m, p[n]);
    }
    float sum = 0;
    for (int64_t n = 0; n < N; ++n) {
      p[n] = std::exp(p[n] - m);
      sum += p[n];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t n = 0; n < N; ++n) p[n] *= inv;
    float* oh = pout + b * D + h * d;
    std::fill(oh, oh + d, 0.0f);
    for (int64_t n = 0; n < N; ++n) {
      const float pn = p[n];
      const float* vn = v_base + n * 2 * D;
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) oh[c] += pn * vn[c];
    }
  }
}

void GroundingAttentionBackward(const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout,
                                const Tensor& dprobs, const Tensor& q, const Tensor& kv,
                                const Tensor& probs, int heads) {
  const auto [B, N, D, H, d] = QueryKeyDims(q, kv, heads);  // checked by ops/grounding.cc
  const float* pq = q.f32();
  const float* pkv = kv.f32();
  const float* pdout = dout.f32();
  const float* pprobs = probs.f32();
  const float* pdprobs = dprobs.defined() ? dprobs.f32() : nullptr;
  float* pdq = dq.f32();
  float* pdkv = dkv.f32();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Per thread: the score gradient dS[N].
  std::vector<float> scratch(static_cast<size_t>(omp_get_max_threads() * N));

#pragma omp parallel if (B * H * N * d > (1 << 14))
  {
    float* ds = scratch.data() + omp_get_thread_num() * N;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < B * H; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const float* qh = pq + b * D + h * d;
      const float* doh = pdout + b * D + h * d;
      const float* k_base = pkv + b * N * 2 * D + h * d;
      const float* v_base = k_base + D;
      const float* p = pprobs + pair * N;
      float dot = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* vn = v_base + n * 2 * D;
        float g = pdprobs != nullptr ? pdprobs[pair * N + n] : 0.0f;
#pragma omp simd reduction(+ : g)
        for (int64_t c = 0; c < d; ++c) g += doh[c] * vn[c];
        ds[n] = g;
        dot += p[n] * g;
      }
      float* dqh = pdq + b * D + h * d;
      std::fill(dqh, dqh + d, 0.0f);
      float* dk_base = pdkv + b * N * 2 * D + h * d;
      float* dv_base = dk_base + D;
      for (int64_t n = 0; n < N; ++n) {
        const float dsn = p[n] * (ds[n] - dot) * scale, pn = p[n];
        const float* kn = k_base + n * 2 * D;
        float* dkn = dk_base + n * 2 * D;
        float* dvn = dv_base + n * 2 * D;
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) {
          dqh[c] += dsn * kn[c];
          dkn[c] = dsn * qh[c];
          dvn[c] = pn * doh[c];
        }
      }
    }
  }
}

void HeadMeanForward(const Context& ctx, Tensor amap, const Tensor& probs) {
  const int64_t B = probs.dim(0), H = probs.dim(1), N = probs.dim(2);
  const float* pp = probs.f32();
  float* pa = amap.f32();
  const float inv = 1.0f / static_cast<float>(H);
  for (int64_t b = 0; b < B; ++b) {
    float* ab = pa + b * N;
    std::fill(ab, ab + N, 0.0f);
    for (int64_t h = 0; h < H; ++h) {
      const float* ph = pp + (b * H + h) * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) ab[n] += ph[n];
    }
#pragma omp simd
    for (int64_t n = 0; n < N; ++n) ab[n] *= inv;
  }
}

void HeadMeanBackward(const Context& ctx, Tensor dprobs, const Tensor& damap) {
  const int64_t B = dprobs.dim(0), H = dprobs.dim(1), N = dprobs.dim(2);
  const float* pa = damap.f32();
  float* pp = dprobs.f32();
  const float inv = 1.0f / static_cast<float>(H);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      float* ph = pp + (b * H + h) * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) ph[n] = pa[b * N + n] * inv;
    }
  }
}

}  // namespace tigerfg::ops::cpu
