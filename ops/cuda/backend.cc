// ops/cuda/backend.cc — the CUDA backend's table: every op's GPU twin, one entry per op, and
// the shapes the kernels cannot take (the fused attention: BF16 only, head dimension <= 64; the
// fused MLP ops: BF16 only).
#include "ops/backend.h"

#include "ops/flash_attention.h"

namespace tigerfg::ops::cuda {
namespace {

bool Supports(OpKind op, const OpShape& shape) {
  switch (op) {
    case OpKind::kFlashAttentionForward:
    case OpKind::kFlashAttentionBackward:
    // CUDNN falls back to the fused kernel (masked blocks, shapes cuDNN declines): its limits.
    case OpKind::kCudnnAttentionForward:
    case OpKind::kCudnnAttentionBackward:
      return shape.dtype == DType::kBF16 && shape.head_dim >= 1 &&
             shape.head_dim <= kFlashMaxHeadDim;
    case OpKind::kLinearBiasGeluForward:
    case OpKind::kLinearBackwardGelu:
      // The BF16 mode's fused MLP; the FP32 mode keeps its verified separate ops
      // (ops::FusedMlpSupported).
      return shape.dtype == DType::kBF16;
    default:
      return true;
  }
}

OpsBackend Make() {
  OpsBackend b;
  b.name = "cuda";
  b.supports = Supports;
  b.linear_forward = LinearForward;
  b.linear_forward_add = LinearForwardAdd;
  b.linear_backward = LinearBackward;
  b.linear_bias_gelu_forward = LinearBiasGeluForward;
  b.linear_backward_gelu = LinearBackwardGelu;
  b.im2col = Im2Col;
  b.layer_norm_forward = LayerNormForward;
  b.layer_norm_backward = LayerNormBackward;
  b.layer_norm_backward_with_copy = LayerNormBackwardWithCopy;
  b.gelu_forward = GeluForward;
  b.gelu_backward = GeluBackward;
  b.self_attention_forward = SelfAttentionForward;
  b.self_attention_backward = SelfAttentionBackward;
  b.flash_attention_forward = FlashAttentionForward;
  b.flash_attention_backward = FlashAttentionBackward;
  b.cudnn_attention_forward = CudnnAttentionForward;
  b.cudnn_attention_backward = CudnnAttentionBackward;
  b.grounding_attention_forward = GroundingAttentionForward;
  b.grounding_attention_backward = GroundingAttentionBackward;
  b.head_mean_forward = HeadMeanForward;
  b.head_mean_backward = HeadMeanBackward;
  b.embedding_forward = EmbeddingForward;
  b.embedding_backward = EmbeddingBackward;
  b.l2_normalize_forward = L2NormalizeForward;
  b.l2_normalize_backward = L2NormalizeBackward;
  b.softmax_forward = SoftmaxForward;
  b.softmax_backward = SoftmaxBackward;
  b.log_softmax_forward = LogSoftmaxForward;
  b.log_softmax_backward = LogSoftmaxBackward;
  b.scaled_logits_forward = ScaledLogitsForward;
  b.scaled_logits_backward = ScaledLogitsBackward;
  b.multi_positive_nce_forward = MultiPositiveNceForward;
  b.multi_positive_nce_backward = MultiPositiveNceBackward;
  b.sdd_loss_forward = SddLossForward;
  b.sdd_loss_backward = SddLossBackward;
  b.srd_loss_forward = SrdLossForward;
  b.srd_target_loss_forward = SrdTargetLossForward;
  b.srd_loss_backward = SrdLossBackward;
  b.loss_terms_update = LossTermsUpdate;
  b.zero = Zero;
  b.add_in_place = AddInPlace;
  b.copy = Copy;
  b.token_prepend_forward = TokenPrependForward;
  b.token_prepend_backward = TokenPrependBackward;
  b.add_position_forward = AddPositionForward;
  b.add_position_backward = AddPositionBackward;
  b.token_slice_forward = TokenSliceForward;
  b.token_slice_backward = TokenSliceBackward;
  b.concat_columns_forward = ConcatColumnsForward;
  b.concat_columns_backward = ConcatColumnsBackward;
  b.normalize_images = NormalizeImages;
  b.cast = Cast;
  b.adamw_update = AdamWUpdate;
  b.adamw_multi_update = AdamWMultiUpdate;
  b.sum_of_squares = SumOfSquares;
  b.sum_of_squares_into = SumOfSquaresInto;
  return b;
}

}  // namespace

const OpsBackend& Backend() {
  static const OpsBackend backend = Make();
  return backend;
}

}  // namespace tigerfg::ops::cuda
