// tests/cuda/flash_attention_test.cc — the fused bf16 attention kernels against their CPU twin on
// the same bf16 inputs: out and dqkv within 1e-2, lse within 1e-4 relative L2, for head
// dimensions 12 to 64, sequences across several 64-token tiles, with and without key padding
// (including a fully padded sample), through both fragment-loading paths; and the bf16 linear
// (GEMMs with fp32 accumulation).
#include "ops/flash_attention.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ops/linear.h"
#include "runtime/core/bf16.h"
#include "tests/cuda/attention_parity.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatchTyped;
using cuda_testing::Gpu;
using cuda_testing::OutputOf;
using cuda_testing::RandomOf;

struct Dims {
  int64_t batch, seq, heads, head_dim;
  bool masked;
};

// Sample 1 loses its last third of tokens, the last sample (when there are 3+) all of them.
std::vector<uint8_t> KeyValid(const Dims& n) {
  std::vector<uint8_t> v(n.batch * n.seq, 1);
  for (int64_t s = n.seq - n.seq / 3; s < n.seq; ++s) v[1 * n.seq + s] = 0;
  if (n.batch >= 3) {
    for (int64_t s = 0; s < n.seq; ++s) v[(n.batch - 1) * n.seq + s] = 0;
  }
  return v;
}

void FlashCaseOnce(const Dims& n, uint64_t seed) {
  const int64_t S = n.seq, D = n.heads * n.head_dim;
  Rng rng(seed);
  const cuda_testing::Twin dqkv = cuda_testing::ExpectFusedAttentionMatches(
      ops::FlashAttentionForward, ops::FlashAttentionBackward, n.batch, S, n.heads, n.head_dim,
      KeyValid(n), n.masked, rng);
  if (!n.masked) return;
  // Padded keys: exactly zero k and v gradients on the GPU.
  const Buffer got = cuda_testing::ToHost(dqkv.dev);
  for (int64_t s = S - S / 3; s < S; ++s) {
    for (int64_t c = D; c < 3 * D; ++c) {
      ASSERT_EQ(BF16ToFloat(got.tensor().bf16()[(1 * S + s) * 3 * D + c]), 0.0f) << s << " " << c;
    }
  }
}

// Both fragment paths: ldmatrix (the default) and element loads (UseFlashLdmatrix(ctx, false)).
void FlashCase(const Dims& n, uint64_t seed) {
  ASSERT_TRUE(FlashLdmatrixUsed(Gpu())) << "ldmatrix is the default";
  for (const bool ldmatrix : {true, false}) {
    SCOPED_TRACE(ldmatrix ? "ldmatrix fragments" : "element-load fragments");
    UseFlashLdmatrix(Gpu(), ldmatrix);
    FlashCaseOnce(n, seed);
  }
  UseFlashLdmatrix(Gpu(), true);
}

TEST(CudaFlashAttention, VitShapeHeadDim64) {
  TIGERFG_REQUIRE_GPU();
  FlashCase({2, 197, 2, 64, false}, 2001);
}

TEST(CudaFlashAttention, TextShapeHeadDim12Masked) {
  TIGERFG_REQUIRE_GPU();
  FlashCase({3, 70, 4, 12, true}, 2002);
}

TEST(CudaFlashAttention, HeadDim32ShortSequenceMasked) {
  TIGERFG_REQUIRE_GPU();
  FlashCase({4, 17, 2, 32, true}, 2003);
}

TEST(CudaFlashAttention, HeadDim16OneTile) {
  TIGERFG_REQUIRE_GPU();
  FlashCase({2, 64, 4, 16, false}, 2004);
}

TEST(CudaFlashAttention, HeadDim48AcrossFourTiles) {
  TIGERFG_REQUIRE_GPU();
  FlashCase({1, 250, 3, 48, true}, 2005);
}

// train.deterministic's backward (dQ shares per key tile summed in order): matches the CPU like
// the atomic one, and two runs give the same bits.
TEST(CudaFlashAttention, DeterministicBackwardMatchesCpuAndRepeatsBitForBit) {
  TIGERFG_REQUIRE_GPU();
  ops::SetDeterministicAttention(true);
  FlashCase({2, 197, 2, 64, false}, 2011);
  FlashCase({3, 70, 4, 12, true}, 2012);
  const int64_t B = 4, S = 197, H = 3, D = 3 * 64;
  Rng rng(2013);
  auto qkv = RandomOf(DType::kBF16, {B, S, 3 * D}, rng);
  auto dout = RandomOf(DType::kBF16, {B, S, D}, rng);
  Buffer out(Gpu(), DType::kBF16, Shape{B, S, D}), lse(Gpu(), DType::kF32, Shape{B, H, S});
  ops::FlashAttentionForward(Gpu(), out, lse, qkv.d(), Tensor(), static_cast<int>(H));
  Buffer ws(Gpu(), DType::kF32, Shape{ops::FlashAttentionWorkspaceNumel(B, S, D, H)});
  std::vector<Buffer> runs;
  for (int run = 0; run < 2; ++run) {
    Buffer dqkv(Gpu(), DType::kBF16, Shape{B, S, 3 * D});
    ops::FlashAttentionBackward(Gpu(), dqkv, ws.tensor(), dout.d(), qkv.d(), out, lse, Tensor(),
                                static_cast<int>(H));
    runs.push_back(cuda_testing::ToHost(dqkv));
  }
  ops::SetDeterministicAttention(false);
  ASSERT_EQ(runs[0].nbytes(), runs[1].nbytes());
  EXPECT_EQ(std::memcmp(runs[0].data(), runs[1].data(), runs[0].nbytes()), 0)
      << "the deterministic backward gave different bits on a rerun";
}

// bf16 x and w; out bf16 or fp32; dw, dbias fp32 (accumulating); dx bf16.
void LinearBf16Case(DType out_type, uint64_t seed) {
  Rng rng(seed);
  const int64_t N = 77, I = 40, O = 56;
  auto x = RandomOf(DType::kBF16, {N, I}, rng);
  auto w = RandomOf(DType::kBF16, {O, I}, rng, 0.3f);
  auto bias = RandomOf(DType::kF32, {O}, rng);
  auto out = OutputOf(out_type, {N, O});
  ops::LinearForward(Cpu(), out.h(), x.h(), w.h(), bias.h());
  ops::LinearForward(Gpu(), out.d(), x.d(), w.d(), bias.d());
  ExpectMatchTyped(out, "out");

  auto dout = RandomOf(DType::kBF16, {N, O}, rng);
  auto dx = OutputOf(DType::kBF16, {N, I});
  auto dw = RandomOf(DType::kF32, {O, I}, rng);
  auto dbias = RandomOf(DType::kF32, {O}, rng);
  ops::LinearBackward(Cpu(), dx.h(), dw.h(), dbias.h(), dout.h(), x.h(), w.h());
  ops::LinearBackward(Gpu(), dx.d(), dw.d(), dbias.d(), dout.d(), x.d(), w.d());
  ExpectMatchTyped(dx, "dx");
  ExpectMatchTyped(dw, "dw");  // fp32 accumulation of exact bf16 products: 1e-5
  ExpectMatchTyped(dbias, "dbias");
}

TEST(CudaLinearBf16, Bf16OutputMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearBf16Case(DType::kBF16, 2101);
}

TEST(CudaLinearBf16, F32OutputMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearBf16Case(DType::kF32, 2102);
}

}  // namespace
}  // namespace tigerfg
