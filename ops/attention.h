// ops/attention.h — multi-head self-attention core (the part between the qkv and proj linears),
// with an optional key-padding mask for the text encoder.
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// qkv[B, S, 3D] is the qkv linear's output, laid out as the spec's view(B, S, 3, heads, D/heads).
// out[B, S, D] = concat over heads of softmax(q k^T / sqrt(D/heads) + mask) v.
// key_valid[B, S] (U8, 1 = may be attended) may be empty (all valid); a query row whose keys are
// all masked gets zeros. probs[B, heads, S, S] is saved for the backward pass.
void SelfAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv,
                          const Tensor& key_valid, int heads);

// dqkv[B, S, 3D] is written (=).
void SelfAttentionBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                           const Tensor& probs, int heads);

}  // namespace tigerfg::ops
