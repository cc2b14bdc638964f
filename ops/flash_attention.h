// ops/flash_attention.h — fused self-attention (FlashAttention-2's algorithm): the same result as
// ops/attention.h without the [B, heads, S, S] probabilities, which the backward recomputes from
// each query row's log-sum-exp. The BF16 mode's attention; on CUDA one kernel per direction.
#pragma once
#include <cstdint>

#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// The largest head dimension the CUDA kernels take (they pad the head to 16, 32 or 64).
constexpr int64_t kFlashMaxHeadDim = 64;

// qkv[B, S, 3D] in the spec's (B, S, 3, heads, D/heads) layout, key_valid[B, S] U8 or empty, as
// in SelfAttentionForward. Writes out[B, S, D] and lse[B, heads, S] (F32): the natural-log
// log-sum-exp of each query row's scaled, masked scores, -inf for a row without a valid key
// (whose output is zero). qkv and out are F32 or BF16 (CPU), BF16 (CUDA).
void FlashAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads);

// F32 elements of the backward's workspace (the CUDA kernels' fp32 dq accumulator and row
// terms); the CPU twin needs none.
inline int64_t FlashAttentionWorkspaceNumel(int64_t batch, int64_t seq, int64_t width, int heads) {
  return batch * seq * width + batch * heads * seq;
}

// dqkv[B, S, 3D] is written (=), same dtype as qkv. out and lse are the forward's outputs, dout
// [B, S, D] has out's dtype. workspace: F32 with at least FlashAttentionWorkspaceNumel elements
// on CUDA, ignored (may be empty) on the CPU. Masked keys get zero gradient.
void FlashAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads);

// train.attention: CUDNN — the contract of the two ops above (same outputs, the same lse, the
// same workspace), computed on CUDA by cuDNN's fused SDPA (ops/cuda/cudnn_sdpa.h) where the
// attention is unmasked (key_valid empty: the image towers) and cuDNN takes the shape, and by
// the fused kernel otherwise (masked blocks, a shape cuDNN declines at run time, a deterministic
// backward); ops/cuda/paths.h counts which ran. On the CPU, the fused attention's twin.
void CudnnAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads);
void CudnnAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads);

// Whether ctx runs cuDNN's fused SDPA forward for unmasked sequences of `seq` tokens of `width`
// channels in `heads` heads: an error on the CPU, in a build without CUDA, or when libcudnn is
// missing, too old (< 9.13.1) or has no engine for the shape. (A backward cuDNN declines is
// logged and runs the fused kernel's.)
Status CudnnAttentionCheck(const Context& ctx, int64_t seq, int64_t width, int heads);

// Whether FlashAttentionBackward on CUDA sums dQ in a fixed order (each 64-key tile's share into
// its own fp32 [B, S, D] buffer, then one pass adds the shares in tile order: bit-identical
// reruns, ceil(S / 64) · B · S · D · 4 bytes of stream-ordered scratch per call) instead of with
// fp32 atomics (faster, not reproducible bit for bit). train.deterministic sets it for the run;
// process-wide, off by default. The CPU twin is deterministic either way.
void SetDeterministicAttention(bool deterministic);
bool DeterministicAttention();

}  // namespace tigerfg::ops
