// ops/cast.cc — the public Cast: sizes and the dtype pair checked once, then the device's backend.
#include "ops/cast.h"

#include "ops/backend.h"

namespace tigerfg::ops {

void Cast(const Context& ctx, Tensor out, const Tensor& in) {
  CHECK_EQ(out.numel(), in.numel())
      << "cast: out " << out.shape().ToString() << " vs in " << in.shape().ToString();
  const bool convertible = out.dtype() == in.dtype() ||
                           (in.dtype() == DType::kF32 && out.dtype() == DType::kBF16) ||
                           (in.dtype() == DType::kBF16 && out.dtype() == DType::kF32);
  CHECK(convertible) << "cast: " << DTypeName(in.dtype()) << " -> " << DTypeName(out.dtype())
                     << " is not supported (F32 <-> BF16 or the same dtype)";
  BackendForOp(ctx, OpKind::kCast).cast(ctx, out, in);
}

}  // namespace tigerfg::ops
