// tests/cuda/bf16_rowwise_test.cc — LayerNorm and GELU on CUDA with bf16 activations against
// their CPU twins, for every mix of F32/BF16 tensors: bf16 outputs within 1e-2, fp32 ones within
// 1e-5 relative L2 (the inputs are the same bf16 values on both sides).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "runtime/core/bf16.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatchTyped;
using cuda_testing::Gpu;
using cuda_testing::OutputOf;
using cuda_testing::RandomOf;

constexpr DType kTypes[] = {DType::kF32, DType::kBF16};

std::string Types(std::initializer_list<std::pair<const char*, DType>> named) {
  std::string s;
  for (const auto& [name, dtype] : named) s += std::string(" ") + name + "=" + DTypeName(dtype);
  return s;
}

void LayerNormCase(uint64_t seed, int64_t N, int64_t C) {
  Rng rng(seed);
  auto x = RandomOf(DType::kF32, {N, C}, rng, 2.0f, 0.5f);  // a non-zero mean
  auto gamma = RandomOf(DType::kF32, {C}, rng);
  auto beta = RandomOf(DType::kF32, {C}, rng);
  auto mean = OutputOf(DType::kF32, {N});
  auto rstd = OutputOf(DType::kF32, {N});
  auto out = OutputOf(DType::kBF16, {N, C});
  ops::LayerNormForward(Cpu(), out.h(), mean.h(), rstd.h(), x.h(), gamma.h(), beta.h(), 1e-6f);
  ops::LayerNormForward(Gpu(), out.d(), mean.d(), rstd.d(), x.d(), gamma.d(), beta.d(), 1e-6f);
  ExpectMatchTyped(out, "layernorm out");
  ExpectMatchTyped(mean, "layernorm mean");
  ExpectMatchTyped(rstd, "layernorm rstd");
  for (DType dout_type : kTypes) {
    for (DType dx_type : kTypes) {
      if (dout_type == DType::kF32 && dx_type == DType::kF32) continue;  // rowwise_test.cc
      const std::string types = Types({{"dout", dout_type}, {"dx", dx_type}});
      auto dout = RandomOf(dout_type, {N, C}, rng);
      auto dx = OutputOf(dx_type, {N, C});
      auto dgamma = RandomOf(DType::kF32, {C}, rng);  // accumulated into
      auto dbeta = RandomOf(DType::kF32, {C}, rng);
      ops::LayerNormBackward(Cpu(), dx.h(), dgamma.h(), dbeta.h(), dout.h(), x.h(), gamma.h(),
                             mean.h(), rstd.h());
      ops::LayerNormBackward(Gpu(), dx.d(), dgamma.d(), dbeta.d(), dout.d(), x.d(), gamma.d(),
                             mean.d(), rstd.d());
      ExpectMatchTyped(dx, "layernorm dx" + types);
      ExpectMatchTyped(dgamma, "layernorm dgamma" + types);
      ExpectMatchTyped(dbeta, "layernorm dbeta" + types);
    }
  }
}

TEST(CudaBF16LayerNormTest, MatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LayerNormCase(7001, 21, 24);
}

TEST(CudaBF16LayerNormTest, WideRowsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  // Rows wider than a block and more rows than a column-sum chunk.
  LayerNormCase(7002, 300, 769);
}

TEST(CudaBF16GeluTest, EveryTypeMixMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(7101);
  const Shape shape({3, 7, 37});
  for (DType x_type : kTypes) {
    auto x = RandomOf(x_type, shape, rng, 3.0f);
    for (DType out_type : kTypes) {
      if (x_type == DType::kF32 && out_type == DType::kF32) continue;  // rowwise_test.cc
      auto out = OutputOf(out_type, shape);
      ops::GeluForward(Cpu(), out.h(), x.h());
      ops::GeluForward(Gpu(), out.d(), x.d());
      ExpectMatchTyped(out, "gelu out" + Types({{"x", x_type}}));
    }
    for (DType dout_type : kTypes) {
      for (DType dx_type : kTypes) {
        if (x_type == DType::kF32 && dout_type == DType::kF32 && dx_type == DType::kF32) continue;
        auto dout = RandomOf(dout_type, shape, rng);
        auto dx = OutputOf(dx_type, shape);
        ops::GeluBackward(Cpu(), dx.h(), dout.h(), x.h());
        ops::GeluBackward(Gpu(), dx.d(), dout.d(), x.d());
        ExpectMatchTyped(dx, "gelu dx" + Types({{"x", x_type}, {"dout", dout_type}}));
      }
    }
  }
}

TEST(CudaBF16GeluTest, InPlaceBackwardMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(7102);
  const Shape shape({1000, 13});
  auto x = RandomOf(DType::kBF16, shape, rng, 3.0f);
  auto dout = RandomOf(DType::kBF16, shape, rng);
  ops::GeluBackward(Cpu(), dout.h(), dout.h(), x.h());
  ops::GeluBackward(Gpu(), dout.d(), dout.d(), x.d());
  ExpectMatchTyped(dout, "gelu dx aliasing dout");
}

}  // namespace
}  // namespace tigerfg
