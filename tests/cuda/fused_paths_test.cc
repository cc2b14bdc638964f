// tests/cuda/fused_paths_test.cc — the CUDA backend's newer paths against their CPU twins, each
// with its fallback: the cuBLASLt epilogues (GELU_AUX_BIAS, DGELU_BGRAD, BGRADB) on and off, and
// that on an aligned problem they really run fused; the warp-per-row LayerNorm forced on F32.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>

#include "ops/cuda/paths.h"
#include "ops/layernorm.h"
#include "ops/linear.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatchTyped;
using cuda_testing::Gpu;
using cuda_testing::OutputOf;
using cuda_testing::RandomOf;

constexpr DType kBF16 = DType::kBF16, kF32 = DType::kF32;

// Sets the epilogue switch for one scope, restoring the default after.
class EpiloguesSwitch {
 public:
  explicit EpiloguesSwitch(bool on) { ops::cuda::Paths().gemm_epilogues = on; }
  ~EpiloguesSwitch() { ops::cuda::Paths().gemm_epilogues = true; }
};

// fc2's backward through the GELU, BF16: [N, O] -> [N, I] with dout [N, I]; its input is
// out = gelu(pre), pre given on each side (pre_h, pre_d). The weight and bias gradients
// accumulate onto the same random start on both sides.
template <typename Pair>
void Fc2BackwardCase(Rng& rng, int64_t N, int64_t I, int64_t O, const Pair& out,
                     const Tensor& pre_h, const Tensor& pre_d) {
  auto w2 = RandomOf(kBF16, {I, O}, rng, 0.2f);
  auto dout = RandomOf(kBF16, {N, I}, rng);
  auto dpre = OutputOf(kBF16, {N, O});
  auto dw2 = RandomOf(kF32, {I, O}, rng);
  auto db2 = RandomOf(kF32, {I}, rng);
  auto db1 = RandomOf(kF32, {O}, rng);
  ops::LinearBackwardGelu(Cpu(), dpre.h(), dw2.h(), db2.h(), db1.h(), dout.h(), out.h(), w2.h(),
                          pre_h);
  ops::LinearBackwardGelu(Gpu(), dpre.d(), dw2.d(), db2.d(), db1.d(), dout.d(), out.d(), w2.d(),
                          pre_d);
  ExpectMatchTyped(dpre, "dpre");
  ExpectMatchTyped(dw2, "dw2", 1e-3);
  ExpectMatchTyped(db2, "db2", 1e-3);
  ExpectMatchTyped(db1, "db1 (dpre_bias)", 1e-2);
}

// fc1 + GELU forward, fc2 + GELU backward and a biased LinearBackward (BGRADB), BF16, N rows of
// width I -> O.
void MlpCase(uint64_t seed, int64_t N, int64_t I, int64_t O) {
  Rng rng(seed);
  auto x = RandomOf(kBF16, {N, I}, rng);
  auto w1 = RandomOf(kBF16, {O, I}, rng, 0.2f);
  auto b1 = RandomOf(kF32, {O}, rng);
  auto out = OutputOf(kBF16, {N, O});
  auto pre = OutputOf(kBF16, {N, O});
  ops::LinearBiasGeluForward(Cpu(), out.h(), pre.h(), x.h(), w1.h(), b1.h());
  ops::LinearBiasGeluForward(Gpu(), out.d(), pre.d(), x.d(), w1.d(), b1.d());
  ExpectMatchTyped(out, "gelu out");
  ExpectMatchTyped(pre, "pre");

  Fc2BackwardCase(rng, N, I, O, out, pre.h(), pre.d());
}

TEST(CudaFusedPathsTest, MlpEpiloguesMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  EpiloguesSwitch on(true);
  MlpCase(7001, 197, 64, 256);  // aligned: the epilogues' shapes
  MlpCase(7002, 33, 20, 12);    // columns not a multiple of 8: the separate passes
}

TEST(CudaFusedPathsTest, MlpSeparatePassesMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  EpiloguesSwitch off(false);
  MlpCase(7003, 197, 64, 256);
  MlpCase(7004, 33, 20, 12);
}

// Proves the fused path is the one the model gets on an H200: every epilogue of an aligned
// problem ran fused. A failure here with the matches above passing means cuBLASLt declined
// (see the "gemm: cuBLASLt epilogue" warnings): correct, but the separate passes' speed.
TEST(CudaFusedPathsTest, EpiloguesRunFusedOnAlignedShapes) {
  TIGERFG_REQUIRE_GPU();
  EpiloguesSwitch on(true);
  const int64_t fused = ops::cuda::Counts().epilogue_fused.load();
  const int64_t fallback = ops::cuda::Counts().epilogue_fallback.load();
  const int64_t bf16_vector = ops::cuda::Counts().epilogue_bf16_vector.load();
  MlpCase(7005, 256, 128, 512);
  // Which vector type this cuBLASLt took (fp32 first, bf16 where it declines): for the log.
  std::cout << "epilogues fused with a bf16 vector: "
            << ops::cuda::Counts().epilogue_bf16_vector.load() - bf16_vector << " of 2\n";
  // GELU_AUX_BIAS, DGELU_BGRAD, and BGRADB of the dw GEMM.
  EXPECT_EQ(ops::cuda::Counts().epilogue_fused.load() - fused, 3);
  EXPECT_EQ(ops::cuda::Counts().epilogue_fallback.load() - fallback, 0);
}

// A BF16 view of t's memory from element `offset` on (misaligned views).
Tensor At16(const Tensor& t, int64_t offset, Shape shape) {
  return Tensor(static_cast<uint16_t*>(t.data()) + offset, kBF16, shape, t.device());
}

// MlpCase's problems with the epilogues' vectors only 16-byte aligned: the biases from element 4
// of an F32 buffer, the GELU's aux matrix (pre) from element 8 of a BF16 one; plus LinearForward's
// BIAS epilogue on the same shifted bias.
void ShiftedVectorsCase(uint64_t seed, int64_t N, int64_t I, int64_t O) {
  Rng rng(seed);
  auto x = RandomOf(kBF16, {N, I}, rng);
  auto w1 = RandomOf(kBF16, {O, I}, rng, 0.2f);
  auto b1 = RandomOf(kF32, {O + 4}, rng);
  const Tensor b1h = cuda_testing::At(b1.h(), 4, {O}), b1d = cuda_testing::At(b1.d(), 4, {O});
  auto y = OutputOf(kBF16, {N, O});
  ops::LinearForward(Cpu(), y.h(), x.h(), w1.h(), b1h);
  ops::LinearForward(Gpu(), y.d(), x.d(), w1.d(), b1d);
  ExpectMatchTyped(y, "linear out");

  auto out = OutputOf(kBF16, {N, O});
  auto pre = cuda_testing::Same(Buffer(kBF16, {N * O + 8}));  // zeros both sides before the view
  const Tensor preh = At16(pre.h(), 8, {N, O}), pred = At16(pre.d(), 8, {N, O});
  ops::LinearBiasGeluForward(Cpu(), out.h(), preh, x.h(), w1.h(), b1h);
  ops::LinearBiasGeluForward(Gpu(), out.d(), pred, x.d(), w1.d(), b1d);
  ExpectMatchTyped(out, "gelu out");
  ExpectMatchTyped(pre, "pre");

  Fc2BackwardCase(rng, N, I, O, out, preh, pred);
}

// cuBLASLt picks an epilogue's algorithm by its bias and aux pointers' alignment: a plan picked
// with cudaMalloc'd (256-byte aligned) vectors must not run the same problem with 16-byte aligned
// ones (the plan cache keys on their alignment). Each run matches the CPU, fused or not.
TEST(CudaFusedPathsTest, EpiloguesOnShiftedVectorsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  EpiloguesSwitch on(true);
  const int64_t calls =
      ops::cuda::Counts().epilogue_fused.load() + ops::cuda::Counts().epilogue_fallback.load();
  MlpCase(7006, 197, 64, 256);
  ShiftedVectorsCase(7007, 197, 64, 256);
  EXPECT_EQ(ops::cuda::Counts().epilogue_fused.load() +
                ops::cuda::Counts().epilogue_fallback.load() - calls,
            6);
}

// The epilogues with a bf16 bias / bias-gradient vector (the type cublasLt.h documents for a bf16
// output; the second try where cuBLASLt declines the fp32 one) match the CPU too.
TEST(CudaFusedPathsTest, EpiloguesWithBf16VectorsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  EpiloguesSwitch on(true);
  ops::cuda::Paths().f32_epilogue_vectors = false;
  MlpCase(7008, 197, 64, 256);
  ShiftedVectorsCase(7009, 197, 64, 256);
  ops::cuda::Paths().f32_epilogue_vectors = true;
}

// The warp-per-row LayerNorm on F32 activations (forced; BF16 always takes it) within the F32
// tolerance of the CPU's double statistics, at widths it takes (<= 1024) and one it does not.
TEST(CudaFusedPathsTest, WarpLayerNormMatchesCpuOnF32) {
  TIGERFG_REQUIRE_GPU();
  ops::cuda::Paths().warp_layernorm_for_f32 = true;
  for (const auto& [N, C] :
       {std::pair<int64_t, int64_t>{4100, 40}, {64, 768}, {5, 1000}, {7, 1}, {3, 1100}}) {
    SCOPED_TRACE("N " + std::to_string(N) + " C " + std::to_string(C));
    Rng rng(7100 + C);
    auto x = RandomOf(kF32, {N, C}, rng, 2.0f, 0.5f);
    auto gamma = RandomOf(kF32, {C}, rng);
    auto beta = RandomOf(kF32, {C}, rng);
    auto mean = OutputOf(kF32, {N});
    auto rstd = OutputOf(kF32, {N});
    auto out = OutputOf(kF32, {N, C});
    ops::LayerNormForward(Cpu(), out.h(), mean.h(), rstd.h(), x.h(), gamma.h(), beta.h(), 1e-6f);
    ops::LayerNormForward(Gpu(), out.d(), mean.d(), rstd.d(), x.d(), gamma.d(), beta.d(), 1e-6f);
    ExpectMatchTyped(out, "out");
    ExpectMatchTyped(mean, "mean");
    ExpectMatchTyped(rstd, "rstd");
    auto dout = RandomOf(kF32, {N, C}, rng);
    auto dx = RandomOf(kF32, {N, C}, rng);  // accumulated into
    auto dgamma = RandomOf(kF32, {C}, rng);
    auto dbeta = RandomOf(kF32, {C}, rng);
    ops::LayerNormBackward(Cpu(), dx.h(), dgamma.h(), dbeta.h(), dout.h(), x.h(), gamma.h(),
                           mean.h(), rstd.h(), /*accumulate_dx=*/true);
    ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(),
                           mean.d(), rstd.d(), /*accumulate_dx=*/true);
    ExpectMatchTyped(dx, "dx");
    ExpectMatchTyped(dgamma, "dgamma");
    ExpectMatchTyped(dbeta, "dbeta");
  }
  ops::cuda::Paths().warp_layernorm_for_f32 = false;
}

// Two runs of the warp LayerNorm backward are bit-identical (no atomics in dgamma/dbeta).
TEST(CudaFusedPathsTest, WarpLayerNormBackwardIsDeterministic) {
  TIGERFG_REQUIRE_GPU();
  const int64_t N = 5000, C = 768;
  Rng rng(7200);
  auto x = RandomOf(kF32, {N, C}, rng);
  auto gamma = RandomOf(kF32, {C}, rng);
  auto mean = RandomOf(kF32, {N}, rng, 0.1f);
  auto rstd = RandomOf(kF32, {N}, rng, 0.1f, 1.0f);
  auto dout = RandomOf(kBF16, {N, C}, rng);
  Buffer runs[2];
  for (Buffer& result : runs) {
    auto dx = OutputOf(kBF16, {N, C});
    auto dgamma = cuda_testing::Same(Buffer::Zeros({C}));
    auto dbeta = cuda_testing::Same(Buffer::Zeros({C}));
    ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(),
                           mean.d(), rstd.d());
    const Buffer g = ToHost(Gpu(), dgamma.d()), b = ToHost(Gpu(), dbeta.d());
    result = Buffer(kF32, {2 * C});
    std::memcpy(result.f32(), g.f32(), C * sizeof(float));
    std::memcpy(result.f32() + C, b.f32(), C * sizeof(float));
  }
  EXPECT_EQ(std::memcmp(runs[0].data(), runs[1].data(), runs[0].nbytes()), 0);
}

}  // namespace
}  // namespace tigerfg
