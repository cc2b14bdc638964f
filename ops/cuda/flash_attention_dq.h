// ops/cuda/flash_attention_dq.h — launchers of the fused attention backward's elementwise passes
// (ops/cuda/flash_attention_dq.cu), on ctx's stream; shapes as in FlashAttentionBackward.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "runtime/core/context.h"

namespace tigerfg::ops::cuda {

// delta[rows] = <dout, out> per (b, h, s) row over head h's d columns of [B, S, D] dout and out;
// dq_acc [B, S, D] zeroed (the backward adds into it). rows = B · H · S.
void LaunchFlashDelta(const Context& ctx, const __nv_bfloat16* dout, const __nv_bfloat16* out,
                      float* delta, float* dq_acc, int64_t rows, int S, int D, int H, int d);
// The q third of dqkv [tokens, 3 D] from the fp32 accumulator dq_acc [tokens, D].
void LaunchFlashWriteDq(const Context& ctx, const float* dq_acc, __nv_bfloat16* dqkv,
                        int64_t tokens, int D);
// The q third of dqkv as the in-order sum of `shares` fp32 shares [shares, tokens, D].
void LaunchFlashSumDqShares(const Context& ctx, const float* share, int shares, __nv_bfloat16* dqkv,
                            int64_t tokens, int D);

}  // namespace tigerfg::ops::cuda
