// ops/tensor_ops.h — small data-movement and elementwise ops the model glues layers with.
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// t = 0.
void Zero(const Context& ctx, Tensor t);
// y += x, elementwise (the residual stream).
void AddInPlace(const Context& ctx, Tensor y, const Tensor& x);
// dst = src (same shape).
void Copy(const Context& ctx, Tensor dst, const Tensor& src);

// ViT input: out[B, 1 + P, D] = concat(cls[D], patches[B, P, D]) + pos[1 + P, D].
void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos);
// dpatches[B, P, D] written (=); dcls[D] and dpos[1 + P, D] accumulate (+=).
void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout);

// x[B, S, D] += pos[S', D] rows 0..S-1 (S <= S'): the text encoder's pos_embed[:, :L].
void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos);
// dpos[S', D] rows 0..S-1 accumulate (+=) Σ_b dx[b].
void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx);

// out[B, n, D] = x[B, begin : begin + n, D] (n = out.dim(1)): CLS selection, patch tokens.
void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin);
// dx[B, begin : begin + n, D] accumulates (+=) dout[B, n, D]; the rest of dx is untouched.
void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin);

// out[N, A + C] = concat(a[N, A], b[N, C]) along the last dimension.
void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b);
// da[N, A] and db[N, C] are written (=) from dout[N, A + C].
void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout);

}  // namespace tigerfg::ops
