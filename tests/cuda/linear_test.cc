// tests/cuda/linear_test.cc — Linear and PatchEmbed on CUDA against their CPU twins.
#include "ops/linear.h"

#include <gtest/gtest.h>

#include "ops/patch_embed.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::At;
using cuda_testing::Cpu;
using cuda_testing::ExpectMatch;
using cuda_testing::Gpu;
using cuda_testing::Output;
using cuda_testing::Random;

void LinearCase(uint64_t seed, bool with_bias) {
  Rng rng(seed);
  const int64_t B = 3, S = 7, I = 23, O = 37;
  auto x = Random({B, S, I}, rng);
  auto w = Random({O, I}, rng, 0.3f);
  auto bias = Random({O}, rng);
  auto out = Output({B, S, O});
  const Tensor bh = with_bias ? bias.h() : Tensor(), bd = with_bias ? bias.d() : Tensor();
  ops::LinearForward(Cpu(), out.h(), x.h(), w.h(), bh);
  ops::LinearForward(Gpu(), out.d(), x.d(), w.d(), bd);
  ExpectMatch(out, "out");

  auto dout = Random({B, S, O}, rng);
  auto dx = Output({B, S, I});
  auto dw = Random({O, I}, rng);  // accumulates: same random start on both sides
  auto dbias = Random({O}, rng);
  const Tensor dbh = with_bias ? dbias.h() : Tensor(), dbd = with_bias ? dbias.d() : Tensor();
  ops::LinearBackward(Cpu(), dx.h(), dw.h(), dbh, dout.h(), x.h(), w.h());
  ops::LinearBackward(Gpu(), dx.d(), dw.d(), dbd, dout.d(), x.d(), w.d());
  ExpectMatch(dx, "dx");
  ExpectMatch(dw, "dw");
  if (with_bias) ExpectMatch(dbias, "dbias");
}

TEST(CudaLinearTest, WithBiasMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearCase(1001, true);
}

TEST(CudaLinearTest, WithoutBiasMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  LinearCase(1002, false);
}

TEST(CudaLinearTest, BackwardWithoutDxMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(1003);
  const int64_t N = 29, I = 16, O = 12;
  auto x = Random({N, I}, rng);
  auto dout = Random({N, O}, rng);
  auto dw = Random({O, I}, rng);
  auto dbias = Random({O}, rng);
  ops::LinearBackward(Cpu(), Tensor(), dw.h(), dbias.h(), dout.h(), x.h(), Tensor());
  ops::LinearBackward(Gpu(), Tensor(), dw.d(), dbias.d(), dout.d(), x.d(), Tensor());
  ExpectMatch(dw, "dw");
  ExpectMatch(dbias, "dbias");
}

TEST(CudaLinearTest, ManyRowsBiasGradientMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  // More rows than one column-sum chunk (256), so the partial sums are combined.
  Rng rng(1004);
  const int64_t N = 1000, I = 40, O = 33;
  auto x = Random({N, I}, rng);
  auto w = Random({O, I}, rng, 0.2f);
  auto bias = Random({O}, rng);
  auto out = Output({N, O});
  ops::LinearForward(Cpu(), out.h(), x.h(), w.h(), bias.h());
  ops::LinearForward(Gpu(), out.d(), x.d(), w.d(), bias.d());
  ExpectMatch(out, "out");
  auto dout = Random({N, O}, rng);
  auto dx = Output({N, I});
  auto dw = Random({O, I}, rng);
  auto dbias = Random({O}, rng);
  ops::LinearBackward(Cpu(), dx.h(), dw.h(), dbias.h(), dout.h(), x.h(), w.h());
  ops::LinearBackward(Gpu(), dx.d(), dw.d(), dbias.d(), dout.d(), x.d(), w.d());
  ExpectMatch(dx, "dx");
  ExpectMatch(dw, "dw");
  ExpectMatch(dbias, "dbias");
}

TEST(CudaLinearTest, MisalignedViewsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  // Every matrix one float past a 256-byte boundary: cuBLASLt must be told the real alignment,
  // and the bias cannot be fused (the seeded-C path runs).
  Rng rng(1005);
  const int64_t N = 13, I = 19, O = 21;
  auto x = Random({N * I + 1}, rng);
  auto w = Random({O * I + 1}, rng, 0.3f);
  auto bias = Random({O + 1}, rng);
  auto out = Output({N * O + 1});
  ops::LinearForward(Cpu(), At(out.h(), 1, {N, O}), At(x.h(), 1, {N, I}), At(w.h(), 1, {O, I}),
                     At(bias.h(), 1, {O}));
  ops::LinearForward(Gpu(), At(out.d(), 1, {N, O}), At(x.d(), 1, {N, I}), At(w.d(), 1, {O, I}),
                     At(bias.d(), 1, {O}));
  ExpectMatch(out, "out", 1e-5, 1);
  auto dout = Random({N * O + 1}, rng);
  auto dx = Output({N * I + 1});
  auto dw = Random({O * I + 1}, rng);
  auto dbias = Random({O + 1}, rng);
  ops::LinearBackward(Cpu(), At(dx.h(), 1, {N, I}), At(dw.h(), 1, {O, I}), At(dbias.h(), 1, {O}),
                      At(dout.h(), 1, {N, O}), At(x.h(), 1, {N, I}), At(w.h(), 1, {O, I}));
  ops::LinearBackward(Gpu(), At(dx.d(), 1, {N, I}), At(dw.d(), 1, {O, I}), At(dbias.d(), 1, {O}),
                      At(dout.d(), 1, {N, O}), At(x.d(), 1, {N, I}), At(w.d(), 1, {O, I}));
  ExpectMatch(dx, "dx", 1e-5, 1);
  ExpectMatch(dw, "dw");
  ExpectMatch(dbias, "dbias");
}

TEST(CudaPatchEmbedTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(1101);
  const int64_t B = 3, C = 3, H = 12, W = 8, p = 4, D = 24;
  const int64_t P = (H / p) * (W / p), K = C * p * p;
  auto img = Random({B, C, H, W}, rng);
  auto w = Random({D, C, p, p}, rng, 0.2f);
  auto bias = Random({D}, rng);
  auto out = Output({B, P, D});
  auto cols = Output({B, P, K});
  ops::PatchEmbedForward(Cpu(), out.h(), cols.h(), img.h(), w.h(), bias.h(), p);
  ops::PatchEmbedForward(Gpu(), out.d(), cols.d(), img.d(), w.d(), bias.d(), p);
  ExpectMatch(cols, "cols", 0.0);
  ExpectMatch(out, "out");

  auto dout = Random({B, P, D}, rng);
  auto dw = Random({D, C, p, p}, rng);
  auto dbias = Random({D}, rng);
  ops::PatchEmbedBackward(Cpu(), dw.h(), dbias.h(), dout.h(), cols.h());
  ops::PatchEmbedBackward(Gpu(), dw.d(), dbias.d(), dout.d(), cols.d());
  ExpectMatch(dw, "dw");
  ExpectMatch(dbias, "dbias");
}

}  // namespace
}  // namespace tigerfg
