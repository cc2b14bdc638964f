// ops/cpu/tensor_ops.cc — the CPU glue ops: zero, residual add, copy, CLS/position handling,
// token slices and column concatenation.
#include "ops/tensor_ops.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "ops/dispatch.h"

namespace tigerfg::ops {
namespace {

constexpr int64_t kParallelElements = 1 << 15;

std::string ShapeOf(const Tensor& t) { return t.shape().ToString(); }

}  // namespace

void Zero(const Context& ctx, Tensor t) {
  TIGERFG_CUDA_DISPATCH(Zero(ctx, t));
  if (t.numel() == 0) return;
  CHECK(t.defined()) << "zero: undefined tensor of shape " << ShapeOf(t);
  std::memset(t.data(), 0, t.nbytes());
}

void AddInPlace(const Context& ctx, Tensor y, const Tensor& x) {
  TIGERFG_CUDA_DISPATCH(AddInPlace(ctx, y, x));
  CHECK_EQ(y.numel(), x.numel()) << "add: y " << ShapeOf(y) << " vs x " << ShapeOf(x);
  float* py = y.f32();
  const float* px = x.f32();
  const int64_t n = y.numel();
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) py[i] += px[i];
}

void Copy(const Context& ctx, Tensor dst, const Tensor& src) {
  TIGERFG_CUDA_DISPATCH(Copy(ctx, dst, src));
  CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype())
      << "copy: dst " << ShapeOf(dst) << " " << DTypeName(dst.dtype()) << " vs src " << ShapeOf(src)
      << " " << DTypeName(src.dtype());
  if (dst.numel() == 0 || dst.data() == src.data()) return;
  std::memcpy(dst.data(), src.data(), dst.nbytes());
}

void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos) {
  TIGERFG_CUDA_DISPATCH(TokenPrependForward(ctx, out, patches, cls, pos));
  CHECK_EQ(patches.ndim(), 3) << "token_prepend: patches must be [B, P, D], got "
                              << ShapeOf(patches);
  const int64_t B = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  CHECK_EQ(cls.numel(), D) << "token_prepend: cls " << ShapeOf(cls) << " for width " << D;
  CHECK(pos.numel() == (1 + P) * D && pos.dim(-1) == D)
      << "token_prepend: pos " << ShapeOf(pos) << ", expected [" << 1 + P << ", " << D << "]";
  CHECK(out.shape() == Shape({B, 1 + P, D}))
      << "token_prepend: out " << ShapeOf(out) << ", expected [" << B << ", " << 1 + P << ", " << D
      << "]";
  const float* pp = patches.f32();
  const float* pc = cls.f32();
  const float* ppos = pos.f32();
  float* py = out.f32();
#pragma omp parallel for collapse(2) if (B * P * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s < 1 + P; ++s) {
      const float* src = s == 0 ? pc : pp + (b * P + s - 1) * D;
      const float* pr = ppos + s * D;
      float* yr = py + (b * (1 + P) + s) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) yr[d] = src[d] + pr[d];
    }
  }
}

void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout) {
  TIGERFG_CUDA_DISPATCH(TokenPrependBackward(ctx, dpatches, dcls, dpos, dout));
  CHECK_EQ(dout.ndim(), 3) << "token_prepend: dout must be [B, 1 + P, D], got " << ShapeOf(dout);
  const int64_t B = dout.dim(0), S = dout.dim(1), D = dout.dim(2);
  CHECK_GE(S, 1) << "token_prepend: dout " << ShapeOf(dout) << " has no CLS row";
  const int64_t P = S - 1;
  CHECK(dpatches.shape() == Shape({B, P, D}))
      << "token_prepend: dpatches " << ShapeOf(dpatches) << " for dout " << ShapeOf(dout);
  CHECK_EQ(dcls.numel(), D) << "token_prepend: dcls " << ShapeOf(dcls) << " for width " << D;
  CHECK(dpos.numel() == S * D && dpos.dim(-1) == D)
      << "token_prepend: dpos " << ShapeOf(dpos) << " for dout " << ShapeOf(dout);
  const float* pd = dout.f32();
  float* pdp = dpatches.f32();
  float* pdc = dcls.f32();
  float* pdpos = dpos.f32();
  // Threads own disjoint token rows s, summing over the batch for dpos (and dcls at s = 0).
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t s = 0; s < S; ++s) {
    float* pos_row = pdpos + s * D;
    for (int64_t b = 0; b < B; ++b) {
      const float* dr = pd + (b * S + s) * D;
      float* target = s == 0 ? pdc : pdp + (b * P + s - 1) * D;
      if (s == 0) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          target[d] += dr[d];
          pos_row[d] += dr[d];
        }
      } else {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          target[d] = dr[d];
          pos_row[d] += dr[d];
        }
      }
    }
  }
}

void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos) {
  TIGERFG_CUDA_DISPATCH(AddPositionForward(ctx, x, pos));
  CHECK_EQ(x.ndim(), 3) << "add_position: x must be [B, S, D], got " << ShapeOf(x);
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2);
  CHECK(pos.ndim() == 2 && pos.dim(1) == D && pos.dim(0) >= S)
      << "add_position: pos " << ShapeOf(pos) << " for x " << ShapeOf(x);
  float* px = x.f32();
  const float* pp = pos.f32();
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    float* xb = px + b * S * D;
#pragma omp simd
    for (int64_t i = 0; i < S * D; ++i) xb[i] += pp[i];
  }
}

void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx) {
  TIGERFG_CUDA_DISPATCH(AddPositionBackward(ctx, dpos, dx));
  CHECK_EQ(dx.ndim(), 3) << "add_position: dx must be [B, S, D], got " << ShapeOf(dx);
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2);
  CHECK(dpos.ndim() == 2 && dpos.dim(1) == D && dpos.dim(0) >= S)
      << "add_position: dpos " << ShapeOf(dpos) << " for dx " << ShapeOf(dx);
  const float* pd = dx.f32();
  float* pp = dpos.f32();
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t s = 0; s < S; ++s) {
    float* row = pp + s * D;
    for (int64_t b = 0; b < B; ++b) {
      const float* dr = pd + (b * S + s) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) row[d] += dr[d];
    }
  }
}

void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin) {
  TIGERFG_CUDA_DISPATCH(TokenSliceForward(ctx, out, x, begin));
  CHECK(x.ndim() == 3 && out.ndim() == 3)
      << "token_slice: x " << ShapeOf(x) << " and out " << ShapeOf(out) << " must be [B, S, D]";
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2), n = out.dim(1);
  CHECK(out.dim(0) == B && out.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: out " << ShapeOf(out) << " at " << begin << " of x " << ShapeOf(x);
  const float* px = x.f32();
  float* py = out.f32();
#pragma omp parallel for if (B * n * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    const float* src = px + (b * S + begin) * D;
    std::copy(src, src + n * D, py + b * n * D);
  }
}

void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin) {
  TIGERFG_CUDA_DISPATCH(TokenSliceBackward(ctx, dx, dout, begin));
  CHECK(dx.ndim() == 3 && dout.ndim() == 3)
      << "token_slice: dx " << ShapeOf(dx) << " and dout " << ShapeOf(dout) << " must be [B, S, D]";
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2), n = dout.dim(1);
  CHECK(dout.dim(0) == B && dout.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: dout " << ShapeOf(dout) << " at " << begin << " of dx " << ShapeOf(dx);
  const float* pd = dout.f32();
  float* px = dx.f32();
#pragma omp parallel for if (B * n * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    float* dst = px + (b * S + begin) * D;
    const float* src = pd + b * n * D;
#pragma omp simd
    for (int64_t i = 0; i < n * D; ++i) dst[i] += src[i];
  }
}

void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b) {
  TIGERFG_CUDA_DISPATCH(ConcatColumnsForward(ctx, out, a, b));
  CHECK(a.ndim() == 2 && b.ndim() == 2 && out.ndim() == 2 && a.dim(0) == b.dim(0) &&
        out.dim(0) == a.dim(0) && out.dim(1) == a.dim(1) + b.dim(1))
      << "concat: out " << ShapeOf(out) << " from a " << ShapeOf(a) << " and b " << ShapeOf(b);
  const int64_t N = a.dim(0), A = a.dim(1), C = b.dim(1);
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = out.f32();
#pragma omp parallel for if (N * (A + C) > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    std::copy(pa + n * A, pa + n * A + A, py + n * (A + C));
    std::copy(pb + n * C, pb + n * C + C, py + n * (A + C) + A);
  }
}

void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout) {
  TIGERFG_CUDA_DISPATCH(ConcatColumnsBackward(ctx, da, db, dout));
  CHECK(da.ndim() == 2 && db.ndim() == 2 && dout.ndim() == 2 && da.dim(0) == db.dim(0) &&
        dout.dim(0) == da.dim(0) && dout.dim(1) == da.dim(1) + db.dim(1))
      << "concat: dout " << ShapeOf(dout) << " into da " << ShapeOf(da) << " and db "
      << ShapeOf(db);
  const int64_t N = da.dim(0), A = da.dim(1), C = db.dim(1);
  const float* pd = dout.f32();
  float* pa = da.f32();
  float* pb = db.f32();
#pragma omp parallel for if (N * (A + C) > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    std::copy(pd + n * (A + C), pd + n * (A + C) + A, pa + n * A);
    std::copy(pd + n * (A + C) + A, pd + (n + 1) * (A + C), pb + n * C);
  }
}

}  // namespace tigerfg::ops
