// tests/ops/tensor_ops_test.cc — the glue ops against explicit index arithmetic, their backward
// passes by central differences, and which outputs accumulate.
#include "ops/tensor_ops.h"

#include <gtest/gtest.h>

#include "tests/testing/gradcheck.h"

namespace tigerfg::ops {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

TEST(TensorOps, ZeroAddCopy) {
  Rng rng(/*seed=*/71);
  const Context ctx = Context::Cpu();
  const int64_t n = 40000 + 7;  // the threaded path of AddInPlace
  Buffer y = RandomBuffer({n}, rng), x = RandomBuffer({n}, rng), y0 = Buffer::Zeros({n});
  Copy(ctx, y0, y);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y0.f32()[i], y.f32()[i]);
  AddInPlace(ctx, y, x);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y.f32()[i], y0.f32()[i] + x.f32()[i]) << i;
  Zero(ctx, y);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y.f32()[i], 0.0f) << i;
}

TEST(TensorOps, TokenPrepend) {
  Rng rng(/*seed=*/72);
  const Context ctx = Context::Cpu();
  const int64_t B = 2, P = 5, D = 7;
  Buffer patches = RandomBuffer({B, P, D}, rng), cls = RandomBuffer({D}, rng),
         pos = RandomBuffer({1 + P, D}, rng), out = Buffer::Zeros({B, 1 + P, D});
  TokenPrependForward(ctx, out, patches, cls, pos);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s <= P; ++s)
      for (int64_t d = 0; d < D; ++d) {
        const float token = s == 0 ? cls.f32()[d] : patches.f32()[(b * P + s - 1) * D + d];
        ASSERT_EQ(out.f32()[(b * (1 + P) + s) * D + d], token + pos.f32()[s * D + d]);
      }

  Buffer proj = RandomBuffer({B, 1 + P, D}, rng);
  Buffer dpatches = RandomBuffer({B, P, D}, rng);  // garbage: written, not accumulated
  Buffer dcls = Buffer::Zeros({D}), dpos = Buffer::Zeros({1 + P, D});
  TokenPrependBackward(ctx, dpatches, dcls, dpos, proj);
  auto loss = [&] {
    TokenPrependForward(ctx, out, patches, cls, pos);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {patches, cls, pos}, {dpatches, dcls, dpos}, 1e-2, 1e-3);

  // dcls and dpos accumulate: a second call doubles them.
  Buffer dcls2 = Buffer::Zeros({D}), dpos2 = Buffer::Zeros({1 + P, D});
  TokenPrependBackward(ctx, dpatches, dcls2, dpos2, proj);
  TokenPrependBackward(ctx, dpatches, dcls2, dpos2, proj);
  for (int64_t d = 0; d < D; ++d) EXPECT_FLOAT_EQ(dcls2.f32()[d], 2 * dcls.f32()[d]);
  for (int64_t i = 0; i < (1 + P) * D; ++i) EXPECT_FLOAT_EQ(dpos2.f32()[i], 2 * dpos.f32()[i]);
}

TEST(TensorOps, AddPositionUsesLeadingRows) {
  Rng rng(/*seed=*/73);
  const Context ctx = Context::Cpu();
  const int64_t B = 3, S = 4, max_len = 9, D = 5;
  Buffer x = RandomBuffer({B, S, D}, rng), x0 = Buffer::Zeros({B, S, D}),
         pos = RandomBuffer({max_len, D}, rng);
  Copy(ctx, x0, x);
  AddPositionForward(ctx, x, pos);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < S * D; ++i)
      ASSERT_EQ(x.f32()[b * S * D + i], x0.f32()[b * S * D + i] + pos.f32()[i]);

  Buffer proj = RandomBuffer({B, S, D}, rng), dpos = Buffer::Zeros({max_len, D});
  AddPositionBackward(ctx, dpos, proj);
  Buffer y = Buffer::Zeros({B, S, D});
  auto loss = [&] {
    Copy(ctx, y, x0);
    AddPositionForward(ctx, y, pos);
    return Dot(y, proj);
  };
  ExpectGradientsMatch(loss, {pos}, {dpos}, 1e-2, 1e-3);
  for (int64_t i = S * D; i < max_len * D; ++i) EXPECT_EQ(dpos.f32()[i], 0.0f);
}

TEST(TensorOps, TokenSlice) {
  Rng rng(/*seed=*/74);
  const Context ctx = Context::Cpu();
  const int64_t B = 2, S = 6, D = 3, begin = 1, n = 4;
  Buffer x = RandomBuffer({B, S, D}, rng), out = Buffer::Zeros({B, n, D});
  TokenSliceForward(ctx, out, x, begin);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n * D; ++i)
      ASSERT_EQ(out.f32()[b * n * D + i], x.f32()[(b * S + begin) * D + i]);

  // dx accumulates inside the slice and is untouched outside it.
  Buffer dout = RandomBuffer({B, n, D}, rng), dx = RandomBuffer({B, S, D}, rng),
         dx0 = Buffer::Zeros({B, S, D});
  Copy(ctx, dx0, dx);
  TokenSliceBackward(ctx, dx, dout, begin);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = (b * S + s) * D + d;
        const bool inside = s >= begin && s < begin + n;
        const float add = inside ? dout.f32()[(b * n + s - begin) * D + d] : 0.0f;
        ASSERT_EQ(dx.f32()[i], dx0.f32()[i] + add) << b << ", " << s << ", " << d;
      }
}

TEST(TensorOps, ConcatColumns) {
  Rng rng(/*seed=*/75);
  const Context ctx = Context::Cpu();
  const int64_t N = 7, A = 3, C = 5;
  Buffer a = RandomBuffer({N, A}, rng), b = RandomBuffer({N, C}, rng),
         out = Buffer::Zeros({N, A + C});
  ConcatColumnsForward(ctx, out, a, b);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < A + C; ++j)
      ASSERT_EQ(out.f32()[n * (A + C) + j], j < A ? a.f32()[n * A + j] : b.f32()[n * C + j - A]);

  Buffer proj = RandomBuffer({N, A + C}, rng);
  Buffer da = RandomBuffer({N, A}, rng), db = RandomBuffer({N, C}, rng);  // written, not +=
  ConcatColumnsBackward(ctx, da, db, proj);
  auto loss = [&] {
    ConcatColumnsForward(ctx, out, a, b);
    return Dot(out, proj);
  };
  ExpectGradientsMatch(loss, {a, b}, {da, db}, 1e-2, 1e-3);
}

}  // namespace
}  // namespace tigerfg::ops
