// tests/cuda/tensor_ops_test.cc — glue ops, embedding and the optimizer kernels on CUDA against
// their CPU twins.
#include "ops/tensor_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/embedding.h"
#include "ops/optim.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatch;
using cuda_testing::FromValues;
using cuda_testing::Gpu;
using cuda_testing::Output;
using cuda_testing::Random;
using cuda_testing::Same;
using cuda_testing::Twin;

TEST(CudaTensorOpsTest, ZeroAddCopyMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5001);
  const Shape shape({3, 7, 24});
  auto z = Output(shape);
  ops::Zero(Cpu(), z.h());
  ops::Zero(Gpu(), z.d());
  ExpectMatch(z, "zero", 0.0);
  auto y = Random(shape, rng);
  auto x = Random(shape, rng);
  ops::AddInPlace(Cpu(), y.h(), x.h());
  ops::AddInPlace(Gpu(), y.d(), x.d());
  ExpectMatch(y, "add", 0.0);
  auto c = Output(shape);
  ops::Copy(Cpu(), c.h(), x.h());
  ops::Copy(Gpu(), c.d(), x.d());
  ExpectMatch(c, "copy", 0.0);
}

TEST(CudaTensorOpsTest, TokenPrependMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5002);
  const int64_t B = 3, P = 6, D = 24;
  auto patches = Random({B, P, D}, rng);
  auto cls = Random({D}, rng);
  auto pos = Random({1 + P, D}, rng);
  auto out = Output({B, 1 + P, D});
  ops::TokenPrependForward(Cpu(), out.h(), patches.h(), cls.h(), pos.h());
  ops::TokenPrependForward(Gpu(), out.d(), patches.d(), cls.d(), pos.d());
  ExpectMatch(out, "out");
  auto dout = Random({B, 1 + P, D}, rng);
  auto dpatches = Output({B, P, D});
  auto dcls = Random({D}, rng);
  auto dpos = Random({1 + P, D}, rng);
  ops::TokenPrependBackward(Cpu(), dpatches.h(), dcls.h(), dpos.h(), dout.h());
  ops::TokenPrependBackward(Gpu(), dpatches.d(), dcls.d(), dpos.d(), dout.d());
  ExpectMatch(dpatches, "dpatches", 0.0);
  ExpectMatch(dcls, "dcls");
  ExpectMatch(dpos, "dpos");
}

TEST(CudaTensorOpsTest, AddPositionMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5003);
  const int64_t B = 3, S = 7, S_max = 11, D = 24;
  auto x = Random({B, S, D}, rng);
  auto pos = Random({S_max, D}, rng);
  ops::AddPositionForward(Cpu(), x.h(), pos.h());
  ops::AddPositionForward(Gpu(), x.d(), pos.d());
  ExpectMatch(x, "x");
  auto dx = Random({B, S, D}, rng);
  auto dpos = Random({S_max, D}, rng);  // rows S.. stay untouched on both sides
  ops::AddPositionBackward(Cpu(), dpos.h(), dx.h());
  ops::AddPositionBackward(Gpu(), dpos.d(), dx.d());
  ExpectMatch(dpos, "dpos");
}

TEST(CudaTensorOpsTest, TokenSliceMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5004);
  const int64_t B = 3, S = 7, D = 24, begin = 2, n = 4;
  auto x = Random({B, S, D}, rng);
  auto out = Output({B, n, D});
  ops::TokenSliceForward(Cpu(), out.h(), x.h(), begin);
  ops::TokenSliceForward(Gpu(), out.d(), x.d(), begin);
  ExpectMatch(out, "out", 0.0);
  auto dout = Random({B, n, D}, rng);
  auto dx = Random({B, S, D}, rng);  // accumulates into the slice, the rest untouched
  ops::TokenSliceBackward(Cpu(), dx.h(), dout.h(), begin);
  ops::TokenSliceBackward(Gpu(), dx.d(), dout.d(), begin);
  ExpectMatch(dx, "dx", 0.0);
}

TEST(CudaTensorOpsTest, ConcatColumnsMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5005);
  const int64_t N = 7, A = 5, C = 11;
  auto a = Random({N, A}, rng);
  auto b = Random({N, C}, rng);
  auto out = Output({N, A + C});
  ops::ConcatColumnsForward(Cpu(), out.h(), a.h(), b.h());
  ops::ConcatColumnsForward(Gpu(), out.d(), a.d(), b.d());
  ExpectMatch(out, "out", 0.0);
  auto dout = Random({N, A + C}, rng);
  auto da = Output({N, A});
  auto db = Output({N, C});
  ops::ConcatColumnsBackward(Cpu(), da.h(), db.h(), dout.h());
  ops::ConcatColumnsBackward(Gpu(), da.d(), db.d(), dout.d());
  ExpectMatch(da, "da", 0.0);
  ExpectMatch(db, "db", 0.0);
}

TEST(CudaEmbeddingTest, DuplicateIdsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5101);
  const int64_t B = 3, L = 7, V = 11, D = 24;
  std::vector<int64_t> id_values(B * L);
  for (int64_t t = 0; t < B * L; ++t) id_values[t] = rng.Int(0, 5);  // many repeats
  id_values[0] = V - 1;
  auto ids = FromValues(DType::kI64, {B, L}, id_values);
  auto table = Random({V, D}, rng);
  auto out = Output({B, L, D});
  ops::EmbeddingForward(Cpu(), out.h(), ids.h(), table.h());
  ops::EmbeddingForward(Gpu(), out.d(), ids.d(), table.d());
  ExpectMatch(out, "out", 0.0);
  auto dout = Random({B, L, D}, rng);
  auto dtable = Random({V, D}, rng);  // accumulates
  ops::EmbeddingBackward(Cpu(), dtable.h(), dout.h(), ids.h());
  ops::EmbeddingBackward(Gpu(), dtable.d(), dout.d(), ids.d());
  ExpectMatch(dtable, "dtable");
}

TEST(CudaOptimTest, AdamWMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5201);
  const int64_t n = 10007;
  auto params = Random({n}, rng);
  auto m = Random({n}, rng, 0.1f);
  Buffer vb = testing::RandomBuffer({n}, rng, 0.1f);
  for (int64_t i = 0; i < n; ++i) vb.f32()[i] = std::fabs(vb.f32()[i]);
  auto v = Same(vb);
  auto grads = Random({n}, rng);
  ops::AdamWHyper h;
  h.lr = 1e-3f;
  h.weight_decay = 0.05f;
  h.step = 3;
  h.grad_scale = 0.7f;
  ops::AdamWUpdate(Cpu(), params.h(), m.h(), v.h(), grads.h(), h);
  ops::AdamWUpdate(Gpu(), params.d(), m.d(), v.d(), grads.d(), h);
  ExpectMatch(params, "params");
  ExpectMatch(m, "m");
  ExpectMatch(v, "v");
}

TEST(CudaOptimTest, SumOfSquaresMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(5202);
  for (int64_t n : {1, 1000, 300007}) {
    auto x = Random({n}, rng, 1.5f);
    const double want = ops::SumOfSquares(Cpu(), x.h());
    const double got = ops::SumOfSquares(Gpu(), x.d());
    EXPECT_NEAR(got, want, 1e-12 * want) << "n " << n;
  }
}

}  // namespace
}  // namespace tigerfg
