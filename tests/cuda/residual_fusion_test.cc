// tests/cuda/residual_fusion_test.cc — the residual stream's fused updates on CUDA against their
// CPU twins: LinearForwardAdd (the GEMM's beta = 1 term read from another tensor or in place,
// fp32 and bf16 inputs) and LayerNormBackward accumulating into dx.
#include <gtest/gtest.h>

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

void LinearAddCase(DType input_type, bool in_place, uint64_t seed) {
  Rng rng(seed);
  const int64_t N = 45, I = 32, O = 40;
  auto x = RandomOf(input_type, {N, I}, rng);
  auto w = RandomOf(input_type, {O, I}, rng, 0.3f);
  auto bias = RandomOf(DType::kF32, {O}, rng);
  auto residual = RandomOf(DType::kF32, {N, O}, rng);
  auto out = OutputOf(DType::kF32, {N, O});
  auto& target = in_place ? residual : out;
  ops::LinearForwardAdd(Cpu(), target.h(), x.h(), w.h(), bias.h(), residual.h());
  ops::LinearForwardAdd(Gpu(), target.d(), x.d(), w.d(), bias.d(), residual.d());
  ExpectMatchTyped(target, in_place ? "residual (in place)" : "out");
}

TEST(CudaLinearForwardAdd, F32MatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearAddCase(DType::kF32, false, 3001);
}

TEST(CudaLinearForwardAdd, F32InPlaceMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearAddCase(DType::kF32, true, 3002);
}

TEST(CudaLinearForwardAdd, Bf16InputsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearAddCase(DType::kBF16, false, 3003);
  LinearAddCase(DType::kBF16, true, 3004);
}

TEST(CudaLayerNormBackward, AccumulateIntoDxMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(3005);
  const int64_t N = 50, C = 96;
  auto x = RandomOf(DType::kF32, {N, C}, rng);
  auto gamma = RandomOf(DType::kF32, {C}, rng);
  auto beta = RandomOf(DType::kF32, {C}, rng);
  auto mean = OutputOf(DType::kF32, {N});
  auto rstd = OutputOf(DType::kF32, {N});
  auto out = OutputOf(DType::kF32, {N, C});
  ops::LayerNormForward(Cpu(), out.h(), mean.h(), rstd.h(), x.h(), gamma.h(), beta.h(), 1e-6f);
  ops::LayerNormForward(Gpu(), out.d(), mean.d(), rstd.d(), x.d(), gamma.d(), beta.d(), 1e-6f);
  for (DType dout_type : {DType::kF32, DType::kBF16}) {
    auto dout = RandomOf(dout_type, {N, C}, rng);
    auto dx = RandomOf(DType::kF32, {N, C}, rng);  // the residual gradient it adds onto
    auto dgamma = RandomOf(DType::kF32, {C}, rng);
    auto dbeta = RandomOf(DType::kF32, {C}, rng);
    ops::LayerNormBackward(Cpu(), dx.h(), dgamma.h(), dbeta.h(), dout.h(), x.h(), gamma.h(),
                           mean.h(), rstd.h(), /*accumulate_dx=*/true);
    ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(),
                           mean.d(), rstd.d(), /*accumulate_dx=*/true);
    ExpectMatchTyped(dx, "dx");
    ExpectMatchTyped(dgamma, "dgamma");
    ExpectMatchTyped(dbeta, "dbeta");
  }
}

}  // namespace
}  // namespace tigerfg
