// tests/ops/grounding_test.cc — grounding cross-attention and its head mean: forward against a
// double-precision reference of GroundLayer.forward's core, backward by central differences.
#include "ops/grounding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

constexpr int64_t kBatch = 3, kPatches = 6, kHeads = 2, kHeadDim = 4, kWidth = kHeads * kHeadDim;

// q[B, D] -> [B, h, 1, d]; kv.view(B, N, 2, h, d); probs = softmax_n; out = concat_h probs · v.
void ReferenceGrounding(const Tensor& q, const Tensor& kv, std::vector<double>* out,
                        std::vector<double>* probs) {
  const float* pq = q.f32();
  const float* pkv = kv.f32();
  out->assign(kBatch * kWidth, 0.0);
  probs->assign(kBatch * kHeads * kPatches, 0.0);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t h = 0; h < kHeads; ++h) {
      std::vector<double> s(kPatches);
      double m = -INFINITY, sum = 0;
      for (int64_t n = 0; n < kPatches; ++n) {
        double dot = 0;
        for (int64_t c = 0; c < kHeadDim; ++c) {
          dot += static_cast<double>(pq[b * kWidth + h * kHeadDim + c]) *
                 pkv[(b * kPatches + n) * 2 * kWidth + h * kHeadDim + c];
        }
        s[n] = dot / std::sqrt(static_cast<double>(kHeadDim));
        m = std::max(m, s[n]);
      }
      for (int64_t n = 0; n < kPatches; ++n) sum += std::exp(s[n] - m);
      for (int64_t n = 0; n < kPatches; ++n) {
        const double p = std::exp(s[n] - m) / sum;
        (*probs)[(b * kHeads + h) * kPatches + n] = p;
        for (int64_t c = 0; c < kHeadDim; ++c) {
          (*out)[b * kWidth + h * kHeadDim + c] +=
              p * pkv[(b * kPatches + n) * 2 * kWidth + kWidth + h * kHeadDim + c];
        }
      }
    }
  }
}

TEST(GroundingAttention, ForwardMatchesDoubleReference) {
  Rng rng(/*seed=*/21);
  Buffer q = RandomBuffer({kBatch, kWidth}, rng, 2.0f);
  Buffer kv = RandomBuffer({kBatch, kPatches, 2 * kWidth}, rng);
  Buffer out = Buffer::Zeros({kBatch, kWidth});
  Buffer probs = Buffer::Zeros({kBatch, kHeads, kPatches});
  ops::GroundingAttentionForward(Context::Cpu(), out, probs, q, kv, kHeads);
  std::vector<double> ref_out, ref_probs;
  ReferenceGrounding(q, kv, &ref_out, &ref_probs);
  for (int64_t i = 0; i < out.numel(); ++i) EXPECT_NEAR(out.f32()[i], ref_out[i], 1e-5) << i;
  for (int64_t i = 0; i < probs.numel(); ++i) EXPECT_NEAR(probs.f32()[i], ref_probs[i], 1e-6) << i;
}

// loss = out · w (+ probs · w_probs when the extra map gradient is used).
void CheckGradient(bool with_dprobs) {
  Rng rng(/*seed=*/22);
  Buffer q = RandomBuffer({kBatch, kWidth}, rng);
  Buffer kv = RandomBuffer({kBatch, kPatches, 2 * kWidth}, rng);
  Buffer w = RandomBuffer({kBatch, kWidth}, rng);
  Buffer w_probs = RandomBuffer({kBatch, kHeads, kPatches}, rng);
  Buffer out = Buffer::Zeros({kBatch, kWidth});
  Buffer probs = Buffer::Zeros({kBatch, kHeads, kPatches});
  Buffer dq = Buffer::Zeros(q.shape());
  Buffer dkv = Buffer::Zeros(kv.shape());
  ops::GroundingAttentionForward(Context::Cpu(), out, probs, q, kv, kHeads);
  ops::GroundingAttentionBackward(Context::Cpu(), dq, dkv, w,
                                  with_dprobs ? w_probs.tensor() : Tensor(), q, kv, probs, kHeads);
  auto loss = [&] {
    Buffer o = Buffer::Zeros({kBatch, kWidth});
    Buffer p = Buffer::Zeros({kBatch, kHeads, kPatches});
    ops::GroundingAttentionForward(Context::Cpu(), o, p, q, kv, kHeads);
    return Dot(o, w) + (with_dprobs ? Dot(p, w_probs) : 0.0);
  };
  ExpectGradientsMatch(loss, {q, kv}, {dq, dkv}, /*step=*/1e-2, /*tolerance=*/2e-3);
}

TEST(GroundingAttention, GradientMatchesCentralDifferences) { CheckGradient(false); }
TEST(GroundingAttention, GradientWithMapGradientMatchesCentralDifferences) { CheckGradient(true); }

TEST(HeadMean, ForwardAndBackward) {
  Rng rng(/*seed=*/23);
  Buffer probs = RandomBuffer({kBatch, kHeads, kPatches}, rng);
  Buffer amap = Buffer::Zeros({kBatch, kPatches});
  ops::HeadMeanForward(Context::Cpu(), amap, probs);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t n = 0; n < kPatches; ++n) {
      double mean = 0;
      for (int64_t h = 0; h < kHeads; ++h) mean += probs.f32()[(b * kHeads + h) * kPatches + n];
      EXPECT_NEAR(amap.f32()[b * kPatches + n], mean / kHeads, 1e-6);
    }
  }
  Buffer w = RandomBuffer({kBatch, kPatches}, rng);
  Buffer dprobs = Buffer::Zeros(probs.shape());
  ops::HeadMeanBackward(Context::Cpu(), dprobs, w);
  auto loss = [&] {
    Buffer a = Buffer::Zeros({kBatch, kPatches});
    ops::HeadMeanForward(Context::Cpu(), a, probs);
    return Dot(a, w);
  };
  ExpectGradientsMatch(loss, {probs}, {dprobs}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

}  // namespace
}  // namespace tigerfg
