// tests/cuda/attention_test.cc — self-attention (with key padding), grounding attention and the
// head mean on CUDA against their CPU twins.
#include "ops/attention.h"

#include <gtest/gtest.h>

#include <vector>

#include "ops/grounding.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatch;
using cuda_testing::FromValues;
using cuda_testing::Gpu;
using cuda_testing::Output;
using cuda_testing::Random;
using cuda_testing::Twin;

// valid_len[b] keys of sample b may be attended (0: every query row of b gets zeros); an empty
// vector: no mask at all.
void SelfAttentionCase(uint64_t seed, int64_t B, int64_t S, int64_t D, int heads,
                       const std::vector<int64_t>& valid_len) {
  Rng rng(seed);
  auto qkv = Random({B, S, 3 * D}, rng);
  Twin valid;
  if (!valid_len.empty()) {
    std::vector<uint8_t> v(B * S);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < S; ++j) v[b * S + j] = j < valid_len[b] ? 1 : 0;
    }
    valid = FromValues(DType::kU8, {B, S}, v);
  }
  const Tensor valid_h = valid_len.empty() ? Tensor() : valid.h();
  const Tensor valid_d = valid_len.empty() ? Tensor() : valid.d();
  auto out = Output({B, S, D});
  auto probs = Output({B, heads, S, S});
  ops::SelfAttentionForward(Cpu(), out.h(), probs.h(), qkv.h(), valid_h, heads);
  ops::SelfAttentionForward(Gpu(), out.d(), probs.d(), qkv.d(), valid_d, heads);
  ExpectMatch(out, "out");
  ExpectMatch(probs, "probs");

  auto dout = Random({B, S, D}, rng);
  auto dqkv = Output({B, S, 3 * D});
  ops::SelfAttentionBackward(Cpu(), dqkv.h(), dout.h(), qkv.h(), probs.h(), heads);
  ops::SelfAttentionBackward(Gpu(), dqkv.d(), dout.d(), qkv.d(), probs.d(), heads);
  ExpectMatch(dqkv, "dqkv");
}

TEST(CudaSelfAttentionTest, UnmaskedMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  SelfAttentionCase(3001, 3, 7, 24, 3, {});
}

TEST(CudaSelfAttentionTest, PaddedKeysMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  SelfAttentionCase(3002, 3, 7, 24, 3, {7, 4, 0});
}

TEST(CudaSelfAttentionTest, LongerSequenceMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  // Rows longer than a block, several heads of width 16.
  SelfAttentionCase(3003, 2, 261, 64, 4, {261, 100});
}

void GroundingCase(uint64_t seed, bool with_dprobs) {
  Rng rng(seed);
  const int64_t B = 3, N = 10, D = 24;
  const int heads = 3;
  auto q = Random({B, D}, rng);
  auto kv = Random({B, N, 2 * D}, rng);
  auto out = Output({B, D});
  auto probs = Output({B, heads, N});
  ops::GroundingAttentionForward(Cpu(), out.h(), probs.h(), q.h(), kv.h(), heads);
  ops::GroundingAttentionForward(Gpu(), out.d(), probs.d(), q.d(), kv.d(), heads);
  ExpectMatch(out, "out");
  ExpectMatch(probs, "probs");

  auto dout = Random({B, D}, rng);
  auto dprobs = Random({B, heads, N}, rng);
  auto dq = Output({B, D});
  auto dkv = Output({B, N, 2 * D});
  const Tensor dp_h = with_dprobs ? dprobs.h() : Tensor();
  const Tensor dp_d = with_dprobs ? dprobs.d() : Tensor();
  ops::GroundingAttentionBackward(Cpu(), dq.h(), dkv.h(), dout.h(), dp_h, q.h(), kv.h(), probs.h(),
                                  heads);
  ops::GroundingAttentionBackward(Gpu(), dq.d(), dkv.d(), dout.d(), dp_d, q.d(), kv.d(), probs.d(),
                                  heads);
  ExpectMatch(dq, "dq");
  ExpectMatch(dkv, "dkv");
}

TEST(CudaGroundingTest, WithoutMapGradientMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  GroundingCase(3101, false);
}

TEST(CudaGroundingTest, WithMapGradientMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  GroundingCase(3102, true);
}

TEST(CudaGroundingTest, ManyPatchesMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  // More patches than threads per block.
  Rng rng(3103);
  const int64_t B = 2, N = 301, D = 32;
  const int heads = 4;
  auto q = Random({B, D}, rng);
  auto kv = Random({B, N, 2 * D}, rng);
  auto out = Output({B, D});
  auto probs = Output({B, heads, N});
  ops::GroundingAttentionForward(Cpu(), out.h(), probs.h(), q.h(), kv.h(), heads);
  ops::GroundingAttentionForward(Gpu(), out.d(), probs.d(), q.d(), kv.d(), heads);
  ExpectMatch(out, "out");
  ExpectMatch(probs, "probs");
  auto dout = Random({B, D}, rng);
  auto dprobs = Random({B, heads, N}, rng);
  auto dq = Output({B, D});
  auto dkv = Output({B, N, 2 * D});
  ops::GroundingAttentionBackward(Cpu(), dq.h(), dkv.h(), dout.h(), dprobs.h(), q.h(), kv.h(),
                                  probs.h(), heads);
  ops::GroundingAttentionBackward(Gpu(), dq.d(), dkv.d(), dout.d(), dprobs.d(), q.d(), kv.d(),
                                  probs.d(), heads);
  ExpectMatch(dq, "dq");
  ExpectMatch(dkv, "dkv");
}

TEST(CudaHeadMeanTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(3201);
  const int64_t B = 3, H = 3, N = 10;
  auto probs = Random({B, H, N}, rng);
  auto amap = Output({B, N});
  ops::HeadMeanForward(Cpu(), amap.h(), probs.h());
  ops::HeadMeanForward(Gpu(), amap.d(), probs.d());
  ExpectMatch(amap, "amap");
  auto damap = Random({B, N}, rng);
  auto dprobs = Output({B, H, N});
  ops::HeadMeanBackward(Cpu(), dprobs.h(), damap.h());
  ops::HeadMeanBackward(Gpu(), dprobs.d(), damap.d());
  ExpectMatch(dprobs, "dprobs");
}

}  // namespace
}  // namespace tigerfg
