// ops/cpu/attention.cc — multi-head self-attention core on the CPU backend: one (batch, head) pair
// per OpenMP task whose products are single-threaded OpenBLAS calls reading q/k/v in place from the
// qkv layout through leading dimensions; probs are kept for the backward pass.
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/cpu/vec_math.h"

namespace tigerfg::ops::cpu {
namespace {

// Below this many multiply-adds per call a single thread beats waking the team.
constexpr int64_t kParallelWork = 1 << 15;

float HorizontalMax(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  return *std::max_element(lanes, lanes + 8);
}

float HorizontalSum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  float s = 0;
  for (float lane : lanes) s += lane;
  return s;
}

// Softmax of row[0, n) in place over the keys with valid[j] == 1 (valid is 1.0 / 0.0); the others
// get exactly 0, so padded keys receive no gradient. A row with no valid key becomes all zeros.
void MaskedSoftmaxRow(float* row, const float* valid, int64_t n) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const __m256 neg_inf = _mm256_set1_ps(kNegInf);
  const __m256 zero = _mm256_setzero_ps();
  __m256 vmax = neg_inf;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 is_valid = _mm256_cmp_ps(_mm256_loadu_ps(valid + j), zero, _CMP_NEQ_OQ);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg_inf, _mm256_loadu_ps(row + j), is_valid));
  }
  float m = HorizontalMax(vmax);
  for (int64_t t = j; t < n; ++t) {
    if (valid[t] != 0.0f) m = std::max(m, row[t]);
  }
  if (m == kNegInf) {
    std::fill(row, row + n, 0.0f);
    return;
  }
  const __m256 vm = _mm256_set1_ps(m);
  __m256 vsum = zero;
  for (j = 0; j + 8 <= n; j += 8) {
    const __m256 e = _mm256_mul_ps(_mm256_loadu_ps(valid + j),
                                   Exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vm)));
    _mm256_storeu_ps(row + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = HorizontalSum(vsum);
  for (int64_t t = j; t < n; ++t) {
    row[t] = valid[t] != 0.0f ? std::exp(row[t] - m) : 0.0f;
    sum += row[t];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t t = 0; t < n; ++t) row[t] *= inv;
}

}  // namespace

void SelfAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv,
                          const Tensor& key_valid, int heads) {
  const auto [B, S, D, H, d] = QkvDims(qkv, heads);  // checked by ops/attention.cc
  const float* pqkv = qkv.f32();
  const uint8_t* pvalid =
      key_valid.defined() ? static_cast<const uint8_t*>(key_valid.data()) : nullptr;
  float* pout = out.f32();
  float* pprobs = probs.f32();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Per thread: the key mask as 1.0 / 0.0.
  const int64_t per_thread = S;
  std::vector<float> scratch(static_cast<size_t>(omp_get_max_threads() * per_thread));

#pragma omp parallel if (B * H * S * S * d > kParallelWork)
  {
    float* valid = scratch.data() + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < B * H; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const float* q_base = pqkv + b * S * 3 * D + h * d;
      const float* k_base = q_base + D;
      const float* v_base = q_base + 2 * D;
      for (int64_t j = 0; j < S; ++j) {
        valid[j] = pvalid == nullptr || pvalid[b * S + j] != 0 ? 1.0f : 0.0f;
      }
      float* p = pprobs + pair * S * S;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, d, scale, q_base, 3 * D, k_base,
                  3 * D, 0.0f, p, S);
      for (int64_t i = 0; i < S; ++i) MaskedSoftmaxRow(p + i * S, valid, S);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, d, S, 1.0f, p, S, v_base, 3 * D,
                  0.0f, pout + b * S * D + h * d, D);
    }
  }
}

void SelfAttentionBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                           const Tensor& probs, int heads) {
  const auto [B, S, D, H, d] = QkvDims(qkv, heads);  // checked by ops/attention.cc
  const float* pqkv = qkv.f32();
  const float* pdout = dout.f32();
  const float* pprobs = probs.f32();
  float* pdqkv = dqkv.f32();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Per thread: dP, then dS in place [S, S].
  const int64_t per_thread = S * S;
  std::vector<float> scratch(static_cast<size_t>(omp_get_max_threads() * per_thread));

#pragma omp parallel if (B * H * S * S * d > kParallelWork)
  {
    float* ds = scratch.data() + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < B * H; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const int64_t ld = 3 * D;  // row stride of q, k, v (and their gradients) in the qkv layout
      const float* q_base = pqkv + b * S * ld + h * d;
      const float* k_base = q_base + D;
      const float* v_base = q_base + 2 * D;
      float* dq_base = pdqkv + b * S * ld + h * d;
      const float* p = pprobs + pair * S * S;
      const float* dout_base = pdout + b * S * D + h * d;
      // dV = P^T dO; dP = dO V^T; dS = P ⊙ (dP - <P, dP>_row) · scale; dQ = dS K; dK = dS^T Q.
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, d, S, 1.0f, p, S, dout_base, D, 0.0f,
                  dq_base + 2 * D, ld);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, d, 1.0f, dout_base, D, v_base, ld,
                  0.0f, ds, S);
      for (int64_t i = 0; i < S; ++i) {
        const float* pi = p + i * S;
        float* dsi = ds + i * S;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < S; ++j) dot += pi[j] * dsi[j];
#pragma omp simd
        for (int64_t j = 0; j < S; ++j) dsi[j] = pi[j] * (dsi[j] - dot) * scale;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, d, S, 1.0f, ds, S, k_base, ld, 0.0f,
                  dq_base, ld);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, d, S, 1.0f, ds, S, q_base, ld, 0.0f,
                  dq_base + D, ld);
    }
  }
}

}  // namespace tigerfg::ops::cpu
