// ops/cuda/cudnn_attention.cc — the CUDNN attention kernel on CUDA: cuDNN's fused SDPA
// (ops/cuda/cudnn_sdpa.h) for unmasked attention, the fused kernel (FlashAttention*) for masked
// attention, for a deterministic backward, and wherever cuDNN fails (logged, counted). Both keep
// the same lse, so a cuDNN forward pairs with either backward.
#include <glog/logging.h>

#include "ops/backend.h"
#include "ops/cuda/cudnn_sdpa.h"
#include "ops/cuda/paths.h"
#include "ops/flash_attention.h"

namespace tigerfg::ops::cuda {

void CudnnAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  if (!key_valid.defined()) {
    const Status s = CudnnSdpaForward(ctx, out, lse, qkv, heads);
    if (s.ok()) {
      Counts().cudnn_sdpa.fetch_add(1);
      return;
    }
    LOG_FIRST_N(WARNING, 3) << "train.attention: CUDNN: " << s.message()
                            << "; the fused kernel (FLASH) runs instead";
  }
  Counts().cudnn_fallback.fetch_add(1);
  FlashAttentionForward(ctx, out, lse, qkv, key_valid, heads);
}

void CudnnAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  // cuDNN's backward may add dQ with atomics: train.deterministic takes the fused kernel's.
  if (!key_valid.defined() && !DeterministicAttention()) {
    const Status s = CudnnSdpaBackward(ctx, dqkv, dout, qkv, out, lse, heads);
    if (s.ok()) {
      Counts().cudnn_sdpa.fetch_add(1);
      return;
    }
    LOG_FIRST_N(WARNING, 3) << "train.attention: CUDNN backward: " << s.message()
                            << "; the fused kernel (FLASH) runs instead";
  }
  Counts().cudnn_fallback.fetch_add(1);
  FlashAttentionBackward(ctx, dqkv, workspace, dout, qkv, out, lse, key_valid, heads);
}

}  // namespace tigerfg::ops::cuda
