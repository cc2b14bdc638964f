// ops/grounding.h — the grounding cross-attention of TIGER-FG: one guide token per sample attends
// over the item's N patch tokens, and the attention map is an output (SRD distils it).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// q[B, D] (the guide after ln_q and the q linear), kv[B, N, 2D] (the kv linear's output, laid out
// as the spec's view(B, N, 2, heads, D/heads)).
// probs[B, heads, N] = softmax_n(q_h · k_hn / sqrt(D/heads)); out[B, D] = concat_h probs_h · v_h.
void GroundingAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& q,
                               const Tensor& kv, int heads);

// dq[B, D] and dkv[B, N, 2D] are written (=). dprobs[B, heads, N] may be empty; when given it is
// an extra gradient flowing into probs from outside (the SRD loss on the last layer's map).
void GroundingAttentionBackward(const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout,
                                const Tensor& dprobs, const Tensor& q, const Tensor& kv,
                                const Tensor& probs, int heads);

// amap[B, N] = mean over heads of probs[B, heads, N] (the spec's `a.mean(1)`).
void HeadMeanForward(const Context& ctx, Tensor amap, const Tensor& probs);
// dprobs[B, heads, N] = damap[B, N] / heads, written (=).
void HeadMeanBackward(const Context& ctx, Tensor dprobs, const Tensor& damap);

}  // namespace tigerfg::ops
