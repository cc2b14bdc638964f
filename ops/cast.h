// ops/cast.h — element-type conversion between tensors: fp32 <-> bf16 (the weight refresh of the
// BF16 mode converts the whole flat fp32 parameter buffer into its bf16 copy every step).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// out = in, converted: F32 -> BF16 rounds to nearest even (NaN -> the canonical bf16 NaN; bit-
// identical on CPU and CUDA), BF16 -> F32 is exact, same dtype (any) copies the bytes. Same
// numel, any shapes; out and in must not overlap.
void Cast(const Context& ctx, Tensor out, const Tensor& in);

}  // namespace tigerfg::ops
