// tests/ops/attention_test.cc — self-attention core: forward against a double-precision reference
// of the spec's masked softmax attention, backward by central differences, key padding.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

constexpr int64_t kBatch = 3, kSeq = 5, kHeads = 2, kHeadDim = 4, kWidth = kHeads * kHeadDim;

// Sample 0 sees every key, sample 1 has its last two tokens padded, sample 2 is fully padded.
Buffer MakeKeyValid() {
  Buffer valid(DType::kU8, Shape({kBatch, kSeq}));
  auto* v = static_cast<uint8_t*>(valid.data());
  for (int64_t s = 0; s < kSeq; ++s) {
    v[0 * kSeq + s] = 1;
    v[1 * kSeq + s] = s < kSeq - 2 ? 1 : 0;
    v[2 * kSeq + s] = 0;
  }
  return valid;
}

// The spec's Attention.forward core in double: out[B, S, D], probs[B, h, S, S].
void ReferenceAttention(const Tensor& qkv, const uint8_t* valid, std::vector<double>* out,
                        std::vector<double>* probs) {
  const float* x = qkv.f32();
  auto at = [&](int64_t b, int64_t s, int64_t t, int64_t h, int64_t c) {
    return static_cast<double>(x[((b * kSeq + s) * 3 + t) * kWidth + h * kHeadDim + c]);
  };
  out->assign(kBatch * kSeq * kWidth, 0.0);
  probs->assign(kBatch * kHeads * kSeq * kSeq, 0.0);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t h = 0; h < kHeads; ++h) {
      for (int64_t i = 0; i < kSeq; ++i) {
        std::vector<double> s(kSeq, -INFINITY);
        double m = -INFINITY;
        for (int64_t j = 0; j < kSeq; ++j) {
          if (valid != nullptr && valid[b * kSeq + j] == 0) continue;
          double dot = 0;
          for (int64_t c = 0; c < kHeadDim; ++c) dot += at(b, i, 0, h, c) * at(b, j, 1, h, c);
          s[j] = dot / std::sqrt(static_cast<double>(kHeadDim));
          m = std::max(m, s[j]);
        }
        if (std::isinf(m)) continue;  // a fully masked row stays zero
        double sum = 0;
        for (int64_t j = 0; j < kSeq; ++j) sum += std::exp(s[j] - m);
        for (int64_t j = 0; j < kSeq; ++j) {
          const double p = std::exp(s[j] - m) / sum;
          (*probs)[((b * kHeads + h) * kSeq + i) * kSeq + j] = p;
          for (int64_t c = 0; c < kHeadDim; ++c) {
            (*out)[(b * kSeq + i) * kWidth + h * kHeadDim + c] += p * at(b, j, 2, h, c);
          }
        }
      }
    }
  }
}

void ExpectNear(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < actual.numel(); ++i) {
    EXPECT_NEAR(actual.f32()[i], expected[i], tolerance) << "element " << i;
  }
}

TEST(SelfAttention, ForwardMatchesDoubleReference) {
  Rng rng(/*seed=*/11);
  Buffer qkv = RandomBuffer({kBatch, kSeq, 3 * kWidth}, rng);
  Buffer valid = MakeKeyValid();
  Buffer out = Buffer::Zeros({kBatch, kSeq, kWidth});
  Buffer probs = Buffer::Zeros({kBatch, kHeads, kSeq, kSeq});
  for (bool masked : {false, true}) {
    const Tensor mask = masked ? valid.tensor() : Tensor();
    ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, mask, kHeads);
    std::vector<double> ref_out, ref_probs;
    ReferenceAttention(qkv, masked ? static_cast<const uint8_t*>(valid.data()) : nullptr, &ref_out,
                       &ref_probs);
    ExpectNear(out, ref_out, 1e-5);
    ExpectNear(probs, ref_probs, 1e-6);
  }
}

TEST(SelfAttention, PaddedKeysDoNotChangeOutputs) {
  Rng rng(/*seed=*/12);
  Buffer qkv = RandomBuffer({kBatch, kSeq, 3 * kWidth}, rng);
  Buffer valid = MakeKeyValid();
  Buffer out = Buffer::Zeros({kBatch, kSeq, kWidth});
  Buffer out2 = Buffer::Zeros({kBatch, kSeq, kWidth});
  Buffer probs = Buffer::Zeros({kBatch, kHeads, kSeq, kSeq});
  ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, valid, kHeads);
  // Scramble the keys and values of sample 1's padded tokens.
  float* x = qkv.f32();
  for (int64_t s = kSeq - 2; s < kSeq; ++s) {
    for (int64_t c = kWidth; c < 3 * kWidth; ++c) x[(1 * kSeq + s) * 3 * kWidth + c] += 50.0f;
  }
  ops::SelfAttentionForward(Context::Cpu(), out2, probs, qkv, valid, kHeads);
  for (int64_t i = 0; i < out.numel(); ++i) EXPECT_EQ(out.f32()[i], out2.f32()[i]) << i;
  // Fully padded sample 2: zero outputs.
  for (int64_t i = 2 * kSeq * kWidth; i < 3 * kSeq * kWidth; ++i) EXPECT_EQ(out.f32()[i], 0.0f);
}

void CheckGradient(bool masked) {
  Rng rng(/*seed=*/13);
  Buffer qkv = RandomBuffer({kBatch, kSeq, 3 * kWidth}, rng);
  Buffer valid = MakeKeyValid();
  const Tensor mask = masked ? valid.tensor() : Tensor();
  Buffer w = RandomBuffer({kBatch, kSeq, kWidth}, rng);
  Buffer out = Buffer::Zeros({kBatch, kSeq, kWidth});
  Buffer probs = Buffer::Zeros({kBatch, kHeads, kSeq, kSeq});
  Buffer dqkv = Buffer::Zeros(qkv.shape());
  ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, mask, kHeads);
  ops::SelfAttentionBackward(Context::Cpu(), dqkv, w, qkv, probs, kHeads);
  auto loss = [&] {
    Buffer o = Buffer::Zeros({kBatch, kSeq, kWidth});
    Buffer p = Buffer::Zeros({kBatch, kHeads, kSeq, kSeq});
    ops::SelfAttentionForward(Context::Cpu(), o, p, qkv, mask, kHeads);
    return Dot(o, w);
  };
  ExpectGradientsMatch(loss, {qkv}, {dqkv}, /*step=*/1e-2, /*tolerance=*/2e-3);
  if (!masked) return;
  // Padded keys get no gradient on their k and v slots; a fully padded sample gets none at all.
  const float* g = dqkv.f32();
  for (int64_t s = kSeq - 2; s < kSeq; ++s) {
    for (int64_t c = kWidth; c < 3 * kWidth; ++c) {
      EXPECT_EQ(g[(1 * kSeq + s) * 3 * kWidth + c], 0.0f) << "token " << s << " column " << c;
    }
  }
  for (int64_t i = 2 * kSeq * 3 * kWidth; i < 3 * kSeq * 3 * kWidth; ++i) EXPECT_EQ(g[i], 0.0f);
}

TEST(SelfAttention, GradientMatchesCentralDifferences) { CheckGradient(/*masked=*/false); }
TEST(SelfAttention, MaskedGradientMatchesCentralDifferences) { CheckGradient(/*masked=*/true); }

}  // namespace
}  // namespace tigerfg
