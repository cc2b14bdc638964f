// tests/ops/flash_attention_test.cc — the fused attention's CPU twin: outputs equal the unfused
// SelfAttention op's, lse is each row's log-sum-exp, the gradient matches the unfused backward
// and central differences, key padding, and BF16 arguments staged through fp32.
#include "ops/flash_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/attention.h"
#include "runtime/core/bf16.h"
#include "tests/ops/attention_cases.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::AsF32;
using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::InDType;
using testing::MakeKeyValid;
using testing::MaxRelativeError;
using testing::RandomBuffer;
using Dims = testing::AttentionDims;

// Small; a text-encoder-like head dimension of 12 with a 70-token sequence (two 64-key tiles on
// the GPU).
constexpr Dims kSmall{3, 5, 2, 4}, kTextLike{3, 70, 4, 12};

class FlashAttention : public ::testing::TestWithParam<Dims> {};

TEST_P(FlashAttention, ForwardMatchesUnfusedAttention) {
  const Dims n = GetParam();
  const int64_t S = n.seq, D = n.width();
  Rng rng(/*seed=*/21);
  Buffer qkv = RandomBuffer({n.batch, S, 3 * D}, rng);
  Buffer valid = MakeKeyValid(n);
  for (bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    const Tensor mask = masked ? valid.tensor() : Tensor();
    Buffer out = Buffer::Zeros({n.batch, S, D}), ref = Buffer::Zeros({n.batch, S, D});
    Buffer lse = Buffer::Zeros({n.batch, n.heads, S});
    Buffer probs = Buffer::Zeros({n.batch, n.heads, S, S});
    ops::FlashAttentionForward(Context::Cpu(), out, lse, qkv, mask, n.heads);
    ops::SelfAttentionForward(Context::Cpu(), ref, probs, qkv, mask, n.heads);
    EXPECT_LT(MaxRelativeError(out, ref), 1e-5);
    // lse of row (b, h, i) = log Σ_j exp(score_ij) over valid keys, -inf for sample 2 if masked.
    const float* x = qkv.f32();
    for (int64_t b = 0; b < n.batch; ++b) {
      for (int64_t h = 0; h < n.heads; ++h) {
        for (int64_t i = 0; i < S; ++i) {
          double sum = 0;
          for (int64_t j = 0; j < S; ++j) {
            if (masked && static_cast<const uint8_t*>(valid.data())[b * S + j] == 0) continue;
            double dot = 0;
            for (int64_t c = 0; c < n.head_dim; ++c) {
              dot += static_cast<double>(x[(b * S + i) * 3 * D + h * n.head_dim + c]) *
                     x[(b * S + j) * 3 * D + D + h * n.head_dim + c];
            }
            sum += std::exp(dot / std::sqrt(static_cast<double>(n.head_dim)));
          }
          const float got = lse.f32()[(b * n.heads + h) * S + i];
          if (sum == 0) {
            EXPECT_EQ(got, -INFINITY);
          } else {
            EXPECT_NEAR(got, std::log(sum), 1e-5 * (1 + std::fabs(std::log(sum))));
          }
        }
      }
    }
  }
}

TEST_P(FlashAttention, BackwardMatchesUnfusedAndCentralDifferences) {
  const Dims n = GetParam();
  const int64_t S = n.seq, D = n.width();
  for (bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "unmasked");
    Rng rng(/*seed=*/22);
    Buffer qkv = RandomBuffer({n.batch, S, 3 * D}, rng);
    Buffer valid = MakeKeyValid(n);
    const Tensor mask = masked ? valid.tensor() : Tensor();
    Buffer w = RandomBuffer({n.batch, S, D}, rng);
    Buffer out = Buffer::Zeros({n.batch, S, D}), lse = Buffer::Zeros({n.batch, n.heads, S});
    Buffer dqkv = Buffer::Zeros(qkv.shape()), ref_dqkv = Buffer::Zeros(qkv.shape());
    Buffer ref_out = Buffer::Zeros({n.batch, S, D});
    Buffer probs = Buffer::Zeros({n.batch, n.heads, S, S});
    ops::FlashAttentionForward(Context::Cpu(), out, lse, qkv, mask, n.heads);
    ops::FlashAttentionBackward(Context::Cpu(), dqkv, Tensor(), w, qkv, out, lse, mask, n.heads);
    ops::SelfAttentionForward(Context::Cpu(), ref_out, probs, qkv, mask, n.heads);
    ops::SelfAttentionBackward(Context::Cpu(), ref_dqkv, w, qkv, probs, n.heads);
    EXPECT_LT(MaxRelativeError(dqkv, ref_dqkv), 1e-4);
    auto loss = [&] {
      Buffer o = Buffer::Zeros({n.batch, S, D}), l = Buffer::Zeros({n.batch, n.heads, S});
      ops::FlashAttentionForward(Context::Cpu(), o, l, qkv, mask, n.heads);
      return Dot(o, w);
    };
    ExpectGradientsMatch(loss, {qkv}, {dqkv}, /*step=*/1e-2, /*tolerance=*/3e-3,
                         /*max_per_input=*/60);
    if (!masked) continue;
    const float* g = dqkv.f32();
    for (int64_t s = S - 2; s < S; ++s) {
      for (int64_t c = D; c < 3 * D; ++c) EXPECT_EQ(g[(1 * S + s) * 3 * D + c], 0.0f) << s;
    }
    for (int64_t i = 2 * S * 3 * D; i < 3 * S * 3 * D; ++i) EXPECT_EQ(g[i], 0.0f);
  }
}

TEST_P(FlashAttention, Bf16ArgumentsAreTheRoundedF32Computation) {
  const Dims n = GetParam();
  const int64_t S = n.seq, D = n.width();
  Rng rng(/*seed=*/23);
  Buffer qkv16 = InDType(RandomBuffer({n.batch, S, 3 * D}, rng), DType::kBF16);
  Buffer w16 = InDType(RandomBuffer({n.batch, S, D}, rng), DType::kBF16);
  Buffer valid = MakeKeyValid(n);
  Buffer qkv = AsF32(qkv16), w = AsF32(w16);
  Buffer out(DType::kF32, Shape({n.batch, S, D})), out16(DType::kBF16, Shape({n.batch, S, D}));
  Buffer lse = Buffer::Zeros({n.batch, n.heads, S}), lse16 = Buffer::Zeros({n.batch, n.heads, S});
  ops::FlashAttentionForward(Context::Cpu(), out, lse, qkv, valid, n.heads);
  ops::FlashAttentionForward(Context::Cpu(), out16, lse16, qkv16, valid, n.heads);
  for (int64_t i = 0; i < out.numel(); ++i) {
    ASSERT_EQ(out16.tensor().bf16()[i], FloatToBF16(out.f32()[i])) << i;
  }
  for (int64_t i = 0; i < lse.numel(); ++i) ASSERT_EQ(lse16.f32()[i], lse.f32()[i]) << i;
  // The backward of the BF16 call reads the rounded output, like the GPU's.
  Buffer out_rounded = AsF32(out16);
  Buffer dqkv(DType::kF32, qkv.shape()), dqkv16(DType::kBF16, qkv.shape());
  ops::FlashAttentionBackward(Context::Cpu(), dqkv, Tensor(), w, qkv, out_rounded, lse, valid,
                              n.heads);
  ops::FlashAttentionBackward(Context::Cpu(), dqkv16, Tensor(), w16, qkv16, out16, lse16, valid,
                              n.heads);
  for (int64_t i = 0; i < dqkv.numel(); ++i) {
    ASSERT_EQ(dqkv16.tensor().bf16()[i], FloatToBF16(dqkv.f32()[i])) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, FlashAttention, ::testing::Values(kSmall, kTextLike));

TEST(FlashAttentionWorkspace, CoversTheDqAccumulatorAndRowTerms) {
  EXPECT_EQ(ops::FlashAttentionWorkspaceNumel(2, 5, 12, 3), 2 * 5 * 12 + 2 * 3 * 5);
}

}  // namespace
}  // namespace tigerfg
