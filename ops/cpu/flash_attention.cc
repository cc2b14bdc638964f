// ops/cpu/flash_attention.cc — the fused attention on the CPU backend: per (batch, head) the scores
// of one query row at a time, its log-sum-exp saved instead of its probabilities, and a backward
// that recomputes them. Computes in fp32 (BF16 arguments are staged); the reference for CUDA.
#include "ops/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/backend.h"
#include "ops/checks.h"
#include "ops/cpu/staging.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Addresses of head h of token s in sample b: q, k, v rows of the qkv layout.
struct HeadView {
  const float* qkv;
  int64_t seq, width, head_offset;
  const float* q(int64_t b, int64_t s) const {
    return qkv + (b * seq + s) * 3 * width + head_offset;
  }
  const float* k(int64_t b, int64_t s) const { return q(b, s) + width; }
  const float* v(int64_t b, int64_t s) const { return q(b, s) + 2 * width; }
};

float Dot(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}

// scores[j] = q_i · k_j · scale for valid keys, -inf for masked ones; returns the maximum.
float Scores(const HeadView& hv, const uint8_t* valid, int64_t b, int64_t i, int64_t d, float scale,
             float* scores) {
  float m = kNegInf;
  for (int64_t j = 0; j < hv.seq; ++j) {
    scores[j] = valid != nullptr && valid[b * hv.seq + j] == 0
                    ? kNegInf
                    : Dot(hv.q(b, i), hv.k(b, j), d) * scale;
    m = std::max(m, scores[j]);
  }
  return m;
}

}  // namespace

void FlashAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  const char* op = "FlashAttentionForward";
  const AttentionDims n = QkvDims(qkv, heads);  // checked by ops/flash_attention.cc
  if (IsBF16(qkv)) {
    const StagedF32 o(out, /*read=*/false), q(qkv);
    FlashAttentionForward(ctx, o.get(), lse, q.get(), key_valid, heads);
    o.WriteBack();
    return;
  }
  CHECK(qkv.dtype() == DType::kF32) << op << ": qkv is " << DTypeName(qkv.dtype());
  const int64_t S = n.seq, D = n.width, d = n.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const auto* valid = key_valid.defined() ? static_cast<const uint8_t*>(key_valid.data()) : nullptr;
  float* po = out.f32();
  float* plse = lse.f32();
#pragma omp parallel for collapse(2) if (n.batch * heads * S * S * d > (1 << 15))
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const HeadView hv{qkv.f32(), S, D, h * d};
      std::vector<float> scores(S);
      for (int64_t i = 0; i < S; ++i) {
        float* o = po + (b * S + i) * D + h * d;
        std::fill(o, o + d, 0.0f);
        const float m = Scores(hv, valid, b, i, d, scale, scores.data());
        if (m == kNegInf) {
          plse[(b * heads + h) * S + i] = kNegInf;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < S; ++j) sum += std::exp(scores[j] - m);
        const float row_lse = m + static_cast<float>(std::log(sum));
        plse[(b * heads + h) * S + i] = row_lse;
        for (int64_t j = 0; j < S; ++j) {
          const float p = std::exp(scores[j] - row_lse);
          if (p == 0.0f) continue;
          const float* v = hv.v(b, j);
          for (int64_t c = 0; c < d; ++c) o[c] += p * v[c];
        }
      }
    }
  }
}

void FlashAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  const char* op = "FlashAttentionBackward";
  const AttentionDims n = QkvDims(qkv, heads);  // checked by ops/flash_attention.cc
  if (IsBF16(qkv)) {
    const StagedF32 dq(dqkv, /*read=*/false), q(qkv), o(out), d_o(dout);
    FlashAttentionBackward(ctx, dq.get(), Tensor(), d_o.get(), q.get(), o.get(), lse, key_valid,
                           heads);
    dq.WriteBack();
    return;
  }
  CHECK(qkv.dtype() == DType::kF32) << op << ": qkv is " << DTypeName(qkv.dtype());
  const int64_t S = n.seq, D = n.width, d = n.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const auto* valid = key_valid.defined() ? static_cast<const uint8_t*>(key_valid.data()) : nullptr;
  const float* plse = lse.f32();
  float* pdqkv = dqkv.f32();
  std::fill(pdqkv, pdqkv + dqkv.numel(), 0.0f);
#pragma omp parallel for collapse(2) if (n.batch * heads * S * S * d > (1 << 15))
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const HeadView hv{qkv.f32(), S, D, h * d};
      std::vector<float> scores(S);
      for (int64_t i = 0; i < S; ++i) {
        const float row_lse = plse[(b * heads + h) * S + i];
        if (row_lse == kNegInf) continue;  // no valid key: zero output, no gradient
        Scores(hv, valid, b, i, d, scale, scores.data());
        const float* g = dout.f32() + (b * S + i) * D + h * d;
        // delta = <dO_i, O_i> = Σ_j p_ij (dO_i · v_j), from the saved output.
        const float delta = Dot(g, out.f32() + (b * S + i) * D + h * d, d);
        float* dq = pdqkv + (b * S + i) * 3 * D + h * d;
        for (int64_t j = 0; j < S; ++j) {
          const float p = std::exp(scores[j] - row_lse);
          if (p == 0.0f) continue;
          float* dk = pdqkv + (b * S + j) * 3 * D + D + h * d;
          float* dv = dk + D;
          const float ds = p * (Dot(g, hv.v(b, j), d) - delta) * scale;
          const float* q = hv.q(b, i);
          const float* k = hv.k(b, j);
          for (int64_t c = 0; c < d; ++c) {
            dq[c] += ds * k[c];
            dk[c] += ds * q[c];
            dv[c] += p * g[c];
          }
        }
      }
    }
  }
}

}  // namespace tigerfg::ops::cpu

namespace tigerfg::ops::cpu {

// train.attention: CUDNN on the CPU backend is the fused attention's twin (the model refuses
// CUDNN on the CPU; the harness compares the CUDA kernel with this).
void CudnnAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  FlashAttentionForward(ctx, out, lse, qkv, key_valid, heads);
}

void CudnnAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  FlashAttentionBackward(ctx, dqkv, workspace, dout, qkv, out, lse, key_valid, heads);
}

}  // namespace tigerfg::ops::cpu
