// tests/cuda/rowwise_test.cc — LayerNorm, GELU, softmax/log-softmax and L2 normalisation on CUDA
// against their CPU twins.
#include <gtest/gtest.h>

#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/normalize.h"
#include "ops/softmax.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatch;
using cuda_testing::Gpu;
using cuda_testing::Output;
using cuda_testing::Random;
using cuda_testing::Same;

TEST(CudaLayerNormTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(2001);
  const int64_t B = 3, S = 7, C = 24;
  Buffer xb = testing::RandomBuffer({B, S, C}, rng, 2.0f);
  for (int64_t i = 0; i < xb.numel(); ++i) xb.f32()[i] += 0.5f;  // a non-zero mean
  auto x = Same(xb);
  auto gamma = Random({C}, rng);
  auto beta = Random({C}, rng);
  auto out = Output({B, S, C});
  auto mean = Output({B, S});
  auto rstd = Output({B, S});
  ops::LayerNormForward(Cpu(), out.h(), mean.h(), rstd.h(), x.h(), gamma.h(), beta.h(), 1e-6f);
  ops::LayerNormForward(Gpu(), out.d(), mean.d(), rstd.d(), x.d(), gamma.d(), beta.d(), 1e-6f);
  ExpectMatch(out, "out");
  ExpectMatch(mean, "mean");
  ExpectMatch(rstd, "rstd");

  auto dout = Random({B, S, C}, rng);
  auto dx = Output({B, S, C});
  auto dgamma = Random({C}, rng);
  auto dbeta = Random({C}, rng);
  ops::LayerNormBackward(Cpu(), dx.h(), dgamma.h(), dbeta.h(), dout.h(), x.h(), gamma.h(), mean.h(),
                         rstd.h());
  ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(), mean.d(),
                         rstd.d());
  ExpectMatch(dx, "dx");
  ExpectMatch(dgamma, "dgamma");
  ExpectMatch(dbeta, "dbeta");
}

TEST(CudaLayerNormTest, WideRowsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  // Rows wider than a block (256 threads) and more rows than a column-sum chunk.
  Rng rng(2002);
  const int64_t N = 300, C = 769;
  auto x = Random({N, C}, rng);
  auto gamma = Random({C}, rng);
  auto beta = Random({C}, rng);
  auto out = Output({N, C});
  auto mean = Output({N});
  auto rstd = Output({N});
  ops::LayerNormForward(Cpu(), out.h(), mean.h(), rstd.h(), x.h(), gamma.h(), beta.h(), 1e-6f);
  ops::LayerNormForward(Gpu(), out.d(), mean.d(), rstd.d(), x.d(), gamma.d(), beta.d(), 1e-6f);
  ExpectMatch(out, "out");
  auto dout = Random({N, C}, rng);
  auto dx = Output({N, C});
  auto dgamma = Random({C}, rng);
  auto dbeta = Random({C}, rng);
  ops::LayerNormBackward(Cpu(), dx.h(), dgamma.h(), dbeta.h(), dout.h(), x.h(), gamma.h(), mean.h(),
                         rstd.h());
  ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(), mean.d(),
                         rstd.d());
  ExpectMatch(dx, "dx");
  ExpectMatch(dgamma, "dgamma");
  ExpectMatch(dbeta, "dbeta");
}

TEST(CudaGeluTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(2101);
  const Shape shape({3, 7, 37});
  auto x = Random(shape, rng, 3.0f);
  auto out = Output(shape);
  ops::GeluForward(Cpu(), out.h(), x.h());
  ops::GeluForward(Gpu(), out.d(), x.d());
  ExpectMatch(out, "out");
  auto dout = Random(shape, rng);
  auto dx = Output(shape);
  ops::GeluBackward(Cpu(), dx.h(), dout.h(), x.h());
  ops::GeluBackward(Gpu(), dx.d(), dout.d(), x.d());
  ExpectMatch(dx, "dx");
}

TEST(CudaSoftmaxTest, SoftmaxMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(2201);
  const Shape shape({3, 7, 37});
  auto x = Random(shape, rng, 3.0f);
  auto out = Output(shape);
  ops::SoftmaxForward(Cpu(), out.h(), x.h());
  ops::SoftmaxForward(Gpu(), out.d(), x.d());
  ExpectMatch(out, "out");
  auto dout = Random(shape, rng);
  auto dx = Output(shape);
  ops::SoftmaxBackward(Cpu(), dx.h(), dout.h(), out.h());
  ops::SoftmaxBackward(Gpu(), dx.d(), dout.d(), out.d());
  ExpectMatch(dx, "dx");
}

TEST(CudaSoftmaxTest, LogSoftmaxMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(2202);
  const Shape shape({21, 300});
  auto x = Random(shape, rng, 3.0f);
  auto out = Output(shape);
  ops::LogSoftmaxForward(Cpu(), out.h(), x.h());
  ops::LogSoftmaxForward(Gpu(), out.d(), x.d());
  ExpectMatch(out, "out");
  auto dout = Random(shape, rng);
  auto dx = Output(shape);
  ops::LogSoftmaxBackward(Cpu(), dx.h(), dout.h(), out.h());
  ops::LogSoftmaxBackward(Gpu(), dx.d(), dout.d(), out.d());
  ExpectMatch(dx, "dx");
}

void NormalizeCase(uint64_t seed, bool zero_row) {
  Rng rng(seed);
  const int64_t N = 21, D = 24;
  Buffer xb = testing::RandomBuffer({N, D}, rng);
  if (zero_row) {
    for (int64_t d = 0; d < D; ++d) xb.f32()[5 * D + d] = 0.0f;  // norm below eps
  }
  auto x = Same(xb);
  auto out = Output({N, D});
  auto norm = Output({N});
  ops::L2NormalizeForward(Cpu(), out.h(), norm.h(), x.h());
  ops::L2NormalizeForward(Gpu(), out.d(), norm.d(), x.d());
  ExpectMatch(out, "out");
  ExpectMatch(norm, "norm");
  Buffer db = testing::RandomBuffer({N, D}, rng);
  if (zero_row) {
    // Keep the eps row's dout / eps gradient at the scale of the others.
    for (int64_t d = 0; d < D; ++d) db.f32()[5 * D + d] *= 1e-12f;
  }
  auto dout = Same(db);
  auto dx = Output({N, D});
  ops::L2NormalizeBackward(Cpu(), dx.h(), dout.h(), out.h(), norm.h());
  ops::L2NormalizeBackward(Gpu(), dx.d(), dout.d(), out.d(), norm.d());
  ExpectMatch(dx, "dx");
}

TEST(CudaNormalizeTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  NormalizeCase(2301, false);
}

TEST(CudaNormalizeTest, ZeroRowMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  NormalizeCase(2302, true);
}

}  // namespace
}  // namespace tigerfg
