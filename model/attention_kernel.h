// model/attention_kernel.h — which self-attention kernel the transformer blocks run: the resolved
// form of train.attention (model::ResolveAttention in model/tigerfg_model.h).
#pragma once

namespace tigerfg::model {

enum class AttentionKernel {
  kUnfused,  // ops/attention.h: saves the [B, heads, S, S] probabilities; fp32 activations only
  kFlash,    // ops/flash_attention.h: saves each query row's log-sum-exp (F32 or BF16 on the CPU,
             // BF16 on CUDA)
};

// "UNFUSED" or "FLASH": the train.attention value that names the kernel.
inline const char* AttentionKernelName(AttentionKernel kernel) {
  return kernel == AttentionKernel::kFlash ? "FLASH" : "UNFUSED";
}

}  // namespace tigerfg::model
