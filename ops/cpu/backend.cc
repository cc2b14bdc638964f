// ops/cpu/backend.cc — the CPU backend's table: the reference implementation of every op, one
// entry per op (ops/backend.h lists them; the harness fails on an entry left out).
#include "ops/backend.h"

namespace tigerfg::ops::cpu {
namespace {

bool Supports(OpKind /*op*/, const OpShape& /*shape*/) { return true; }  // every op, any shape

OpsBackend Make() {
  OpsBackend b;
  b.name = "cpu";
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

}  // namespace tigerfg::ops::cpu
