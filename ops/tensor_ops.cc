// ops/tensor_ops.cc — the public glue ops (zero, add, copy, CLS/position handling, token slices,
// column concatenation): shapes checked once, then the device's backend.
#include "ops/tensor_ops.h"

#include <string>

#include "ops/backend.h"

namespace tigerfg::ops {
namespace {

std::string ShapeOf(const Tensor& t) { return t.shape().ToString(); }

}  // namespace

void Zero(const Context& ctx, Tensor t) {
  if (t.numel() == 0) return;
  CHECK(t.defined()) << "zero: undefined tensor of shape " << ShapeOf(t);
  BackendForOp(ctx, OpKind::kZero).zero(ctx, t);
}

void AddInPlace(const Context& ctx, Tensor y, const Tensor& x) {
  CHECK_EQ(y.numel(), x.numel()) << "add: y " << ShapeOf(y) << " vs x " << ShapeOf(x);
  BackendForOp(ctx, OpKind::kAddInPlace).add_in_place(ctx, y, x);
}

void Copy(const Context& ctx, Tensor dst, const Tensor& src) {
  CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype())
      << "copy: dst " << ShapeOf(dst) << " " << DTypeName(dst.dtype()) << " vs src " << ShapeOf(src)
      << " " << DTypeName(src.dtype());
  BackendForOp(ctx, OpKind::kCopy).copy(ctx, dst, src);
}

void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos) {
  CHECK_EQ(patches.ndim(), 3) << "token_prepend: patches must be [B, P, D], got "
                              << ShapeOf(patches);
  const int64_t B = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  CHECK_EQ(cls.numel(), D) << "token_prepend: cls " << ShapeOf(cls) << " for width " << D;
  CHECK(pos.numel() == (1 + P) * D && pos.dim(-1) == D)
      << "token_prepend: pos " << ShapeOf(pos) << ", expected [" << 1 + P << ", " << D << "]";
  CHECK(out.shape() == Shape({B, 1 + P, D}))
      << "token_prepend: out " << ShapeOf(out) << ", expected [" << B << ", " << 1 + P << ", " << D
      << "]";
  BackendForOp(ctx, OpKind::kTokenPrependForward)
      .token_prepend_forward(ctx, out, patches, cls, pos);
}

void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout) {
  CHECK_EQ(dout.ndim(), 3) << "token_prepend: dout must be [B, 1 + P, D], got " << ShapeOf(dout);
  const int64_t B = dout.dim(0), S = dout.dim(1), D = dout.dim(2);
  CHECK_GE(S, 1) << "token_prepend: dout " << ShapeOf(dout) << " has no CLS row";
  CHECK(dpatches.shape() == Shape({B, S - 1, D}))
      << "token_prepend: dpatches " << ShapeOf(dpatches) << " for dout " << ShapeOf(dout);
  CHECK_EQ(dcls.numel(), D) << "token_prepend: dcls " << ShapeOf(dcls) << " for width " << D;
  CHECK(dpos.numel() == S * D && dpos.dim(-1) == D)
      << "token_prepend: dpos " << ShapeOf(dpos) << " for dout " << ShapeOf(dout);
  BackendForOp(ctx, OpKind::kTokenPrependBackward)
      .token_prepend_backward(ctx, dpatches, dcls, dpos, dout);
}

void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos) {
  CHECK_EQ(x.ndim(), 3) << "add_position: x must be [B, S, D], got " << ShapeOf(x);
  const int64_t S = x.dim(1), D = x.dim(2);
  CHECK(pos.ndim() == 2 && pos.dim(1) == D && pos.dim(0) >= S)
      << "add_position: pos " << ShapeOf(pos) << " for x " << ShapeOf(x);
  BackendForOp(ctx, OpKind::kAddPositionForward).add_position_forward(ctx, x, pos);
}

void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx) {
  CHECK_EQ(dx.ndim(), 3) << "add_position: dx must be [B, S, D], got " << ShapeOf(dx);
  const int64_t S = dx.dim(1), D = dx.dim(2);
  CHECK(dpos.ndim() == 2 && dpos.dim(1) == D && dpos.dim(0) >= S)
      << "add_position: dpos " << ShapeOf(dpos) << " for dx " << ShapeOf(dx);
  BackendForOp(ctx, OpKind::kAddPositionBackward).add_position_backward(ctx, dpos, dx);
}

void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin) {
  CHECK(x.ndim() == 3 && out.ndim() == 3)
      << "token_slice: x " << ShapeOf(x) << " and out " << ShapeOf(out) << " must be [B, S, D]";
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2), n = out.dim(1);
  CHECK(out.dim(0) == B && out.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: out " << ShapeOf(out) << " at " << begin << " of x " << ShapeOf(x);
  BackendForOp(ctx, OpKind::kTokenSliceForward).token_slice_forward(ctx, out, x, begin);
}

void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin) {
  CHECK(dx.ndim() == 3 && dout.ndim() == 3)
      << "token_slice: dx " << ShapeOf(dx) << " and dout " << ShapeOf(dout) << " must be [B, S, D]";
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2), n = dout.dim(1);
  CHECK(dout.dim(0) == B && dout.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: dout " << ShapeOf(dout) << " at " << begin << " of dx " << ShapeOf(dx);
  BackendForOp(ctx, OpKind::kTokenSliceBackward).token_slice_backward(ctx, dx, dout, begin);
}

void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b) {
  CHECK(a.ndim() == 2 && b.ndim() == 2 && out.ndim() == 2 && a.dim(0) == b.dim(0) &&
        out.dim(0) == a.dim(0) && out.dim(1) == a.dim(1) + b.dim(1))
      << "concat: out " << ShapeOf(out) << " from a " << ShapeOf(a) << " and b " << ShapeOf(b);
  BackendForOp(ctx, OpKind::kConcatColumnsForward).concat_columns_forward(ctx, out, a, b);
}

void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout) {
  CHECK(da.ndim() == 2 && db.ndim() == 2 && dout.ndim() == 2 && da.dim(0) == db.dim(0) &&
        dout.dim(0) == da.dim(0) && dout.dim(1) == da.dim(1) + db.dim(1))
      << "concat: dout " << ShapeOf(dout) << " into da " << ShapeOf(da) << " and db "
      << ShapeOf(db);
  BackendForOp(ctx, OpKind::kConcatColumnsBackward).concat_columns_backward(ctx, da, db, dout);
}

}  // namespace tigerfg::ops
