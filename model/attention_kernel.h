// model/attention_kernel.h — which self-attention kernel the transformer blocks run: the resolved
// form of train.attention (model::ResolveAttention in model/tigerfg_model.h).
#pragma once

namespace tigerfg::model {

enum class AttentionKernel {
  kUnfused,  // ops/attention.h: saves the [B, heads, S, S] probabilities; fp32 activations only
  kFlash,    // ops/flash_attention.h: saves each query row's log-sum-exp (F32 or BF16 on the CPU,
             // BF16 on CUDA)
  kCudnn,    // ops/flash_attention.h CudnnAttention*: FLASH's contract, cuDNN's fused SDPA for the
             // unmasked (image) blocks on CUDA, the fused kernel for the masked ones; CUDA BF16
};

// Whether the kernel saves the log-sum-exp (and needs the fused backward's workspace) rather
// than the probabilities.
inline bool SavesLse(AttentionKernel kernel) { return kernel != AttentionKernel::kUnfused; }

// "UNFUSED", "FLASH" or "CUDNN": the train.attention value that names the kernel.
inline const char* AttentionKernelName(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kFlash:
      return "FLASH";
    case AttentionKernel::kCudnn:
      return "CUDNN";
    default:
      return "UNFUSED";
  }
}

}  // namespace tigerfg::model
