// ops/images.cc — the public NormalizeImages: shapes and dtypes checked once, then the backend.
#include "ops/images.h"

#include "ops/backend.h"

namespace tigerfg::ops {

void NormalizeImages(const Context& ctx, Tensor out, const Tensor& in, const ImageNorm& norm) {
  CHECK_EQ(in.shape().ndim(), 4) << "normalize images: in " << in.shape().ToString();
  CHECK(out.shape() == in.shape())
      << "normalize images: out " << out.shape().ToString() << " vs in " << in.shape().ToString();
  CHECK(in.dtype() == DType::kU8 && out.dtype() == DType::kF32)
      << "normalize images: " << DTypeName(in.dtype()) << " -> " << DTypeName(out.dtype())
      << " (U8 -> F32 only)";
  CHECK_EQ(norm.channels, in.shape()[1]) << "normalize images: channels of the normalisation";
  BackendForOp(ctx, OpKind::kNormalizeImages).normalize_images(ctx, out, in, norm);
}

}  // namespace tigerfg::ops
