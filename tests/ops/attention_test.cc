// tests/ops/attention_test.cc — self-attention core: forward against a double-precision reference
// of the spec's masked softmax attention, backward by central differences, key padding.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/ops/attention_cases.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::MakeKeyValid;
using testing::RandomBuffer;
using Dims = testing::AttentionDims;

// Small: every softmax row is a scalar tail. Large: 8-wide vector rows with a tail, and enough
// work for the OpenMP path.
constexpr Dims kSmall{3, 5, 2, 4}, kLarge{4, 21, 4, 8};

// The spec's Attention.forward core in double: out[B, S, D], probs[B, h, S, S].
void ReferenceAttention(const Dims& n, const Tensor& qkv, const uint8_t* valid,
                        std::vector<double>* out, std::vector<double>* probs) {
  const float* x = qkv.f32();
  const int64_t S = n.seq, D = n.width(), d = n.head_dim;
  auto at = [&](int64_t b, int64_t s, int64_t t, int64_t h, int64_t c) {
    return static_cast<double>(x[((b * S + s) * 3 + t) * D + h * d + c]);
  };
  out->assign(n.batch * S * D, 0.0);
  probs->assign(n.batch * n.heads * S * S, 0.0);
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t h = 0; h < n.heads; ++h) {
      for (int64_t i = 0; i < S; ++i) {
        std::vector<double> s(S, -INFINITY);
        double m = -INFINITY;
        for (int64_t j = 0; j < S; ++j) {
          if (valid != nullptr && valid[b * S + j] == 0) continue;
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += at(b, i, 0, h, c) * at(b, j, 1, h, c);
          s[j] = dot / std::sqrt(static_cast<double>(d));
          m = std::max(m, s[j]);
        }
        if (std::isinf(m)) continue;  // a fully masked row stays zero
        double sum = 0;
        for (int64_t j = 0; j < S; ++j) sum += std::exp(s[j] - m);
        for (int64_t j = 0; j < S; ++j) {
          const double p = std::exp(s[j] - m) / sum;
          (*probs)[((b * n.heads + h) * S + i) * S + j] = p;
          for (int64_t c = 0; c < d; ++c)
            (*out)[(b * S + i) * D + h * d + c] += p * at(b, j, 2, h, c);
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

class SelfAttention : public ::testing::TestWithParam<Dims> {};

TEST_P(SelfAttention, ForwardMatchesDoubleReference) {
  const Dims n = GetParam();
  Rng rng(/*seed=*/11);
  Buffer qkv = RandomBuffer({n.batch, n.seq, 3 * n.width()}, rng);
  Buffer valid = MakeKeyValid(n);
  Buffer out = Buffer::Zeros({n.batch, n.seq, n.width()});
  Buffer probs = Buffer::Zeros({n.batch, n.heads, n.seq, n.seq});
  for (bool masked : {false, true}) {
    const Tensor mask = masked ? valid.tensor() : Tensor();
    ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, mask, n.heads);
    std::vector<double> ref_out, ref_probs;
    ReferenceAttention(n, qkv, masked ? static_cast<const uint8_t*>(valid.data()) : nullptr,
                       &ref_out, &ref_probs);
    ExpectNear(out, ref_out, 1e-5);
    ExpectNear(probs, ref_probs, 1e-6);
  }
}

TEST_P(SelfAttention, PaddedKeysDoNotChangeOutputs) {
  const Dims n = GetParam();
  const int64_t S = n.seq, D = n.width();
  Rng rng(/*seed=*/12);
  Buffer qkv = RandomBuffer({n.batch, S, 3 * D}, rng);
  Buffer valid = MakeKeyValid(n);
  Buffer out = Buffer::Zeros({n.batch, S, D});
  Buffer out2 = Buffer::Zeros({n.batch, S, D});
  Buffer probs = Buffer::Zeros({n.batch, n.heads, S, S});
  ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, valid, n.heads);
  // Scramble the keys and values of sample 1's padded tokens.
  float* x = qkv.f32();
  for (int64_t s = S - 2; s < S; ++s) {
    for (int64_t c = D; c < 3 * D; ++c) x[(1 * S + s) * 3 * D + c] += 50.0f;
  }
  ops::SelfAttentionForward(Context::Cpu(), out2, probs, qkv, valid, n.heads);
  for (int64_t i = 0; i < out.numel(); ++i) EXPECT_EQ(out.f32()[i], out2.f32()[i]) << i;
  // Fully padded sample 2: zero outputs.
  for (int64_t i = 2 * S * D; i < 3 * S * D; ++i) EXPECT_EQ(out.f32()[i], 0.0f);
}

TEST_P(SelfAttention, GradientMatchesCentralDifferences) {
  const Dims n = GetParam();
  const int64_t S = n.seq, D = n.width();
  for (bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    Rng rng(/*seed=*/13);
    Buffer qkv = RandomBuffer({n.batch, S, 3 * D}, rng);
    Buffer valid = MakeKeyValid(n);
    const Tensor mask = masked ? valid.tensor() : Tensor();
    Buffer w = RandomBuffer({n.batch, S, D}, rng);
    Buffer out = Buffer::Zeros({n.batch, S, D});
    Buffer probs = Buffer::Zeros({n.batch, n.heads, S, S});
    Buffer dqkv = Buffer::Zeros(qkv.shape());
    ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv, mask, n.heads);
    ops::SelfAttentionBackward(Context::Cpu(), dqkv, w, qkv, probs, n.heads);
    auto loss = [&] {
      Buffer o = Buffer::Zeros({n.batch, S, D});
      Buffer p = Buffer::Zeros({n.batch, n.heads, S, S});
      ops::SelfAttentionForward(Context::Cpu(), o, p, qkv, mask, n.heads);
      return Dot(o, w);
    };
    ExpectGradientsMatch(loss, {qkv}, {dqkv}, /*step=*/1e-2, /*tolerance=*/3e-3,
                         /*max_per_input=*/n.seq > 8 ? 40 : 400);
    if (!masked) continue;
    // Padded keys get no gradient on their k and v slots; a fully padded sample gets none at all.
    const float* g = dqkv.f32();
    for (int64_t s = S - 2; s < S; ++s) {
      for (int64_t c = D; c < 3 * D; ++c) {
        EXPECT_EQ(g[(1 * S + s) * 3 * D + c], 0.0f) << "token " << s << " column " << c;
      }
    }
    for (int64_t i = 2 * S * 3 * D; i < 3 * S * 3 * D; ++i) EXPECT_EQ(g[i], 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, SelfAttention, ::testing::Values(kSmall, kLarge));

}  // namespace
}  // namespace tigerfg
