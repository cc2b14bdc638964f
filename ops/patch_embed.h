// ops/patch_embed.h — ViT patch embedding: a conv with kernel = stride = patch, done as im2col +
// GEMM.
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// img[B, C, H, W] -> out[B, P, D] with P = (H/p)·(W/p) patches in row-major order (as the spec's
// conv(...).flatten(2).transpose(1, 2)); w[D, C, p, p], bias[D].
// cols[B, P, C·p·p] receives the unfolded patches (channel-major within a patch, like w's layout)
// and is saved for the backward pass.
void PatchEmbedForward(const Context& ctx, Tensor out, Tensor cols, const Tensor& img,
                       const Tensor& w, const Tensor& bias, int patch);

// The forward's first step: cols[B, P, C·p·p] from img[B, C, H, W] (F32), patch `patch`:
// cols[b, gy·(W/p) + gx, (c·p + ky)·p + kx] = img[b, c, gy·p + ky, gx·p + kx]. Every element of
// cols is written.
void Im2Col(const Context& ctx, Tensor cols, const Tensor& img, int patch);

// dw[D, C, p, p] and dbias[D] accumulate (+=). Images are inputs: no image gradient.
void PatchEmbedBackward(const Context& ctx, Tensor dw, Tensor dbias, const Tensor& dout,
                        const Tensor& cols);

}  // namespace tigerfg::ops
