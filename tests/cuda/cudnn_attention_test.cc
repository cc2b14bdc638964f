// tests/cuda/cudnn_attention_test.cc — train.attention: CUDNN on CUDA: cuDNN's fused SDPA
// (forward and backward) against the CPU twin on the same bf16 inputs, proof that cuDNN (not the
// fallback) ran for an unmasked ViT shape, and the masked fallback to the fused kernel.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <iostream>
#include <vector>

#include "ops/cuda/cudnn_sdpa.h"
#include "ops/cuda/paths.h"
#include "ops/flash_attention.h"
#include "tests/cuda/attention_parity.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Gpu;

// Forward and backward of the CUDNN kernel on both sides; sample 1 loses its last third of keys
// when masked.
void CudnnCase(int64_t B, int64_t S, int64_t H, int64_t d, bool masked, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> valid(B * S, 1);
  for (int64_t s = S - S / 3; s < S; ++s) valid[1 * S + s] = 0;
  cuda_testing::ExpectFusedAttentionMatches(ops::CudnnAttentionForward, ops::CudnnAttentionBackward,
                                            B, S, H, d, valid, masked, rng);
}

TEST(CudaCudnnAttention, CheckAcceptsTheVitB16Shape) {
  TIGERFG_REQUIRE_GPU();
  const Status s = ops::CudnnAttentionCheck(Gpu(), 197, 768, 12);
  EXPECT_TRUE(s.ok()) << s.message();
}

// The unmasked ViT shape runs cuDNN's forward (a fallback here means cuDNN declined: see the
// "train.attention: CUDNN" warnings) and its backward where cuDNN plans one (cuDNN 9.19's one
// unified SDPA engine takes SDPA_FWD graphs only: there the backward is the fused kernel's),
// and matches the CPU.
TEST(CudaCudnnAttention, VitShapeRunsCudnnAndMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  int backward_plans = 0;
  for (auto [B, S, H] : {std::array<int64_t, 3>{2, 197, 2}, {3, 50, 4}}) {
    const Status s = ops::cuda::CudnnSdpaBackwardCheck(Gpu(), B, S, 128, H);
    backward_plans += s.ok() ? 1 : 0;
    if (!s.ok())
      std::cout << "cuDNN declines the backward (B " << B << "): " << s.message() << "\n";
  }
  const int64_t ran = ops::cuda::Counts().cudnn_sdpa.load();
  const int64_t fell_back = ops::cuda::Counts().cudnn_fallback.load();
  CudnnCase(2, 197, 2, 64, /*masked=*/false, 3001);
  CudnnCase(3, 50, 4, 32, /*masked=*/false, 3002);
  EXPECT_EQ(ops::cuda::Counts().cudnn_sdpa.load() - ran, 2 + backward_plans);
  EXPECT_EQ(ops::cuda::Counts().cudnn_fallback.load() - fell_back, 2 - backward_plans);
}

// Masked attention (the text tower) takes the fused kernel, with the same results.
TEST(CudaCudnnAttention, MaskedRunsTheFusedKernelAndMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  const int64_t fell_back = ops::cuda::Counts().cudnn_fallback.load();
  CudnnCase(3, 70, 4, 16, /*masked=*/true, 3003);
  EXPECT_EQ(ops::cuda::Counts().cudnn_fallback.load() - fell_back, 2);
}

// train.deterministic: the backward is the fused kernel's deterministic one.
TEST(CudaCudnnAttention, DeterministicBackwardTakesTheFusedKernel) {
  TIGERFG_REQUIRE_GPU();
  ops::SetDeterministicAttention(true);
  const int64_t fell_back = ops::cuda::Counts().cudnn_fallback.load();
  CudnnCase(2, 100, 2, 64, /*masked=*/false, 3004);
  ops::SetDeterministicAttention(false);
  EXPECT_EQ(ops::cuda::Counts().cudnn_fallback.load() - fell_back, 1);
}

}  // namespace
}  // namespace tigerfg
