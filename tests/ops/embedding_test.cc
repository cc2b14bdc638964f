// tests/ops/embedding_test.cc — Embedding lookup, its scatter-add backward with repeated ids, and
// the out-of-range id invariant.
#include "ops/embedding.h"

#include <gtest/gtest.h>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

Buffer Ids(Shape shape, Rng& rng, int64_t vocab) {
  Buffer ids(DType::kI64, shape);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.i64()[i] = rng.Int(0, vocab);
  return ids;
}

TEST(Embedding, ForwardGathersRows) {
  Rng rng(/*seed=*/41);
  const Context ctx = Context::Cpu();
  const int64_t B = 3, L = 7, V = 11, D = 13;
  Buffer ids = Ids({B, L}, rng, V), table = RandomBuffer({V, D}, rng);
  Buffer out = Buffer::Zeros({B, L, D});
  EmbeddingForward(ctx, out, ids, table);
  for (int64_t t = 0; t < B * L; ++t)
    for (int64_t d = 0; d < D; ++d)
      ASSERT_EQ(out.f32()[t * D + d], table.f32()[ids.i64()[t] * D + d]) << t << ", " << d;
}

TEST(Embedding, GradientMatchesCentralDifferences) {
  Rng rng(/*seed=*/42);
  const Context ctx = Context::Cpu();
  const int64_t B = 2, L = 9, V = 5, D = 7;  // 18 tokens over 5 ids: repeats guaranteed
  Buffer ids = Ids({B, L}, rng, V), table = RandomBuffer({V, D}, rng);
  Buffer proj = RandomBuffer({B, L, D}, rng), out = Buffer::Zeros({B, L, D});
  Buffer dtable = Buffer::Zeros({V, D});
  EmbeddingBackward(ctx, dtable, proj, ids);
  auto loss = [&] {
    EmbeddingForward(ctx, out, ids, table);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {table}, {dtable}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

TEST(Embedding, ThreadedBackwardAccumulatesRepeatedIds) {
  Rng rng(/*seed=*/43);
  const Context ctx = Context::Cpu();
  const int64_t T = 64, V = 3, D = 1001;  // T·D above the threading threshold
  Buffer ids = Ids({T}, rng, V), dout = RandomBuffer({T, D}, rng);
  Buffer dtable = RandomBuffer({V, D}, rng);
  Buffer expected = Buffer::Zeros({V, D});
  for (int64_t i = 0; i < V * D; ++i) expected.f32()[i] = dtable.f32()[i];
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d) expected.f32()[ids.i64()[t] * D + d] += dout.f32()[t * D + d];
  EmbeddingBackward(ctx, dtable, dout, ids);
  for (int64_t i = 0; i < V * D; ++i) ASSERT_NEAR(dtable.f32()[i], expected.f32()[i], 1e-4) << i;
}

TEST(EmbeddingDeathTest, IdOutOfRangeIsAnInvariantViolation) {
  const Context ctx = Context::Cpu();
  Buffer ids(DType::kI64, {2});
  ids.i64()[0] = 1;
  ids.i64()[1] = 4;
  Buffer table = Buffer::Zeros({4, 3}), out = Buffer::Zeros({2, 3});
  EXPECT_DEATH(EmbeddingForward(ctx, out, ids, table), "id 4 at token 1 outside");
}

}  // namespace
}  // namespace tigerfg::ops
