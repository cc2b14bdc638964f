// ops/images.h — input images: the uint8 pixels of a batch to the normalised floats the towers
// read (the loader hands uint8 to training so that a GPU copies a quarter of the bytes).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/image_norm.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// out[B, C, H, W] F32 = NormalizedPixel(in[B, C, H, W] U8, norm.scale[c], norm.shift[c]):
// (pixel / 255 - mean[c]) / std[c] in the loader's one fused multiply-add, bit-identical on CPU
// and CUDA and to the loader's float images. norm.channels == C.
void NormalizeImages(const Context& ctx, Tensor out, const Tensor& in, const ImageNorm& norm);

}  // namespace tigerfg::ops
