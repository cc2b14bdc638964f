// ops/backend.h — the backend table: every device op listed once (TIGERFG_OPS), one struct of
// function pointers per backend (OpsBackend), and the lookup the public entry points dispatch by.
#pragma once

#include <cstdint>

#include "ops/losses.h"
#include "ops/optim.h"
#include "runtime/core/context.h"
#include "runtime/core/image_norm.h"
#include "runtime/core/tensor.h"

// X(Name, field, Ret, Params) for every op a backend implements, by family. Name is the public
// function in namespace tigerfg::ops (its header says the contract), `field` its OpsBackend
// member, Ret and Params its type. The public entry points (ops/<family>.cc) check arguments
// once (ops/checks.h) and call BackendForOp(ctx, OpKind::kName).field(...); ops/cpu/backend.cc
// and ops/cuda/backend.cc fill the tables; tests/ops/backend_ops_test.cc runs every op's cases
// (tests/testing/backend_cases*.cc) on every backend.
#define TIGERFG_OPS(X)                                                                             \
  /* ops/linear.h, ops/patch_embed.h */                                                            \
  X(LinearForward, linear_forward, void,                                                           \
    (const Context& ctx, Tensor out, const Tensor& x, const Tensor& w, const Tensor& bias))        \
  X(LinearForwardAdd, linear_forward_add, void,                                                    \
    (const Context& ctx, Tensor out, const Tensor& x, const Tensor& w, const Tensor& bias,         \
     const Tensor& residual))                                                                      \
  X(LinearBackward, linear_backward, void,                                                         \
    (const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout, const Tensor& x,  \
     const Tensor& w))                                                                             \
  X(LinearBiasGeluForward, linear_bias_gelu_forward, void,                                         \
    (const Context& ctx, Tensor out, Tensor pre, const Tensor& x, const Tensor& w,                 \
     const Tensor& bias))                                                                          \
  X(LinearBackwardGelu, linear_backward_gelu, void,                                                \
    (const Context& ctx, Tensor dpre, Tensor dw, Tensor dbias, Tensor dpre_bias,                   \
     const Tensor& dout, const Tensor& x, const Tensor& w, const Tensor& pre))                     \
  X(Im2Col, im2col, void, (const Context& ctx, Tensor cols, const Tensor& img, int patch))         \
  /* ops/layernorm.h */                                                                            \
  X(LayerNormForward, layer_norm_forward, void,                                                    \
    (const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,                    \
     const Tensor& gamma, const Tensor& beta, float eps))                                          \
  X(LayerNormBackward, layer_norm_backward, void,                                                  \
    (const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta, const Tensor& dout,               \
     const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,                 \
     bool accumulate_dx))                                                                          \
  X(LayerNormBackwardWithCopy, layer_norm_backward_with_copy, void,                                \
    (const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma, Tensor dbeta, const Tensor& dout,  \
     const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,                 \
     bool accumulate_dx))                                                                          \
  /* ops/gelu.h */                                                                                 \
  X(GeluForward, gelu_forward, void, (const Context& ctx, Tensor out, const Tensor& x))            \
  X(GeluBackward, gelu_backward, void,                                                             \
    (const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x))                          \
  /* ops/attention.h */                                                                            \
  X(SelfAttentionForward, self_attention_forward, void,                                            \
    (const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv, const Tensor& key_valid,     \
     int heads))                                                                                   \
  X(SelfAttentionBackward, self_attention_backward, void,                                          \
    (const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv, const Tensor& probs,  \
     int heads))                                                                                   \
  /* ops/flash_attention.h */                                                                      \
  X(FlashAttentionForward, flash_attention_forward, void,                                          \
    (const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv, const Tensor& key_valid,       \
     int heads))                                                                                   \
  X(FlashAttentionBackward, flash_attention_backward, void,                                        \
    (const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout, const Tensor& qkv,     \
     const Tensor& out, const Tensor& lse, const Tensor& key_valid, int heads))                    \
  X(CudnnAttentionForward, cudnn_attention_forward, void,                                          \
    (const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv, const Tensor& key_valid,       \
     int heads))                                                                                   \
  X(CudnnAttentionBackward, cudnn_attention_backward, void,                                        \
    (const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout, const Tensor& qkv,     \
     const Tensor& out, const Tensor& lse, const Tensor& key_valid, int heads))                    \
  /* ops/grounding.h */                                                                            \
  X(GroundingAttentionForward, grounding_attention_forward, void,                                  \
    (const Context& ctx, Tensor out, Tensor probs, const Tensor& q, const Tensor& kv, int heads))  \
  X(GroundingAttentionBackward, grounding_attention_backward, void,                                \
    (const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout, const Tensor& dprobs,          \
     const Tensor& q, const Tensor& kv, const Tensor& probs, int heads))                           \
  X(HeadMeanForward, head_mean_forward, void,                                                      \
    (const Context& ctx, Tensor amap, const Tensor& probs))                                        \
  X(HeadMeanBackward, head_mean_backward, void,                                                    \
    (const Context& ctx, Tensor dprobs, const Tensor& damap))                                      \
  /* ops/embedding.h */                                                                            \
  X(EmbeddingForward, embedding_forward, void,                                                     \
    (const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table))                      \
  X(EmbeddingBackward, embedding_backward, void,                                                   \
    (const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids))                    \
  /* ops/normalize.h */                                                                            \
  X(L2NormalizeForward, l2_normalize_forward, void,                                                \
    (const Context& ctx, Tensor out, Tensor norm, const Tensor& x))                                \
  X(L2NormalizeBackward, l2_normalize_backward, void,                                              \
    (const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out, const Tensor& norm))    \
  /* ops/softmax.h */                                                                              \
  X(SoftmaxForward, softmax_forward, void, (const Context& ctx, Tensor out, const Tensor& x))      \
  X(SoftmaxBackward, softmax_backward, void,                                                       \
    (const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out))                        \
  X(LogSoftmaxForward, log_softmax_forward, void,                                                  \
    (const Context& ctx, Tensor out, const Tensor& x))                                             \
  X(LogSoftmaxBackward, log_softmax_backward, void,                                                \
    (const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out))                        \
  /* ops/losses.h */                                                                               \
  X(ScaledLogitsForward, scaled_logits_forward, void,                                              \
    (const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale, const Tensor& q,      \
     const Tensor& e, const Tensor& logit_scale, float max_scale, int64_t row0))                   \
  X(ScaledLogitsBackward, scaled_logits_backward, void,                                            \
    (const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale, const Tensor& drow_logits,     \
     const Tensor& dcol_logits, const Tensor& q, const Tensor& e, const Tensor& logit_scale,       \
     const Tensor& scale, float max_scale, int64_t row0))                                          \
  X(MultiPositiveNceForward, multi_positive_nce_forward, void,                                     \
    (const Context& ctx, Tensor loss, const Tensor& logits, const Tensor& product_ids,             \
     int64_t row0))                                                                                \
  X(MultiPositiveNceBackward, multi_positive_nce_backward, void,                                   \
    (const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,                        \
     const Tensor& product_ids, int64_t row0))                                                     \
  X(SddLossForward, sdd_loss_forward, void,                                                        \
    (const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,              \
     const Tensor& teacher_q, const Tensor& teacher_items, float tau))                             \
  X(SddLossBackward, sdd_loss_backward, void,                                                      \
    (const Context& ctx, Tensor dstudent_logits, float dloss, const Tensor& p_teacher,             \
     const Tensor& student_logits))                                                                \
  X(SrdLossForward, srd_loss_forward, void,                                                        \
    (const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,                      \
     const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map))                       \
  X(SrdTargetLossForward, srd_target_loss_forward, void,                                           \
    (const Context& ctx, Tensor loss, const Tensor& target_map, const Tensor& amap))               \
  X(SrdLossBackward, srd_loss_backward, void,                                                      \
    (const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,                     \
     const Tensor& amap))                                                                          \
  X(LossTermsUpdate, loss_terms_update, void,                                                      \
    (const Context& ctx, Tensor terms, Tensor terms64, const Tensor& loss_row,                     \
     const Tensor& loss_col, const Tensor& loss_srd, const Tensor& loss_sdd,                       \
     const LossTermWeights& w))                                                                    \
  /* ops/tensor_ops.h */                                                                           \
  X(Zero, zero, void, (const Context& ctx, Tensor t))                                              \
  X(AddInPlace, add_in_place, void, (const Context& ctx, Tensor y, const Tensor& x))               \
  X(Copy, copy, void, (const Context& ctx, Tensor dst, const Tensor& src))                         \
  X(TokenPrependForward, token_prepend_forward, void,                                              \
    (const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls, const Tensor& pos)) \
  X(TokenPrependBackward, token_prepend_backward, void,                                            \
    (const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos, const Tensor& dout))           \
  X(AddPositionForward, add_position_forward, void,                                                \
    (const Context& ctx, Tensor x, const Tensor& pos))                                             \
  X(AddPositionBackward, add_position_backward, void,                                              \
    (const Context& ctx, Tensor dpos, const Tensor& dx))                                           \
  X(TokenSliceForward, token_slice_forward, void,                                                  \
    (const Context& ctx, Tensor out, const Tensor& x, int64_t begin))                              \
  X(TokenSliceBackward, token_slice_backward, void,                                                \
    (const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin))                            \
  X(ConcatColumnsForward, concat_columns_forward, void,                                            \
    (const Context& ctx, Tensor out, const Tensor& a, const Tensor& b))                            \
  X(ConcatColumnsBackward, concat_columns_backward, void,                                          \
    (const Context& ctx, Tensor da, Tensor db, const Tensor& dout))                                \
  /* ops/images.h */                                                                               \
  X(NormalizeImages, normalize_images, void,                                                       \
    (const Context& ctx, Tensor out, const Tensor& in, const ImageNorm& norm))                     \
  /* ops/cast.h */                                                                                 \
  X(Cast, cast, void, (const Context& ctx, Tensor out, const Tensor& in))                          \
  /* ops/optim.h */                                                                                \
  X(AdamWUpdate, adamw_update, void,                                                               \
    (const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,                   \
     const AdamWHyper& hyper))                                                                     \
  X(AdamWMultiUpdate, adamw_multi_update, void,                                                    \
    (const Context& ctx, Tensor params, Tensor m, Tensor v, Tensor params16, const Tensor& grads,  \
     const Tensor& table, const Tensor& grad_sumsq, const AdamWHyper& hyper))                      \
  X(SumOfSquares, sum_of_squares, double, (const Context& ctx, const Tensor& x))                   \
  X(SumOfSquaresInto, sum_of_squares_into, void, (const Context& ctx, Tensor out, const Tensor& x))

namespace tigerfg::ops {

// The ops of the table, in its order; kCount last.
enum class OpKind : int {
#define TIGERFG_OP_KIND(Name, field, Ret, Params) k##Name,
  TIGERFG_OPS(TIGERFG_OP_KIND)
#undef TIGERFG_OP_KIND
      kCount
};
constexpr int kOpCount = static_cast<int>(OpKind::kCount);

// "LayerNormForward" for OpKind::kLayerNormForward.
const char* OpName(OpKind op);

// What decides whether a backend can run an op: the activation dtype (qkv for the attentions,
// x / out for the rowwise ops) and, for the attentions, the head dimension (width / heads).
struct OpShape {
  DType dtype = DType::kF32;
  int64_t head_dim = 0;
};

// One backend: a name, what it cannot run, and one function per op (the types come from
// TIGERFG_OPS). An entry left null is a broken backend: the harness fails on it and a call
// through it stops with the op's name.
struct OpsBackend {
#define TIGERFG_OP_TYPE(Name, field, Ret, Params) using Name##Fn = Ret(*) Params;
  TIGERFG_OPS(TIGERFG_OP_TYPE)
#undef TIGERFG_OP_TYPE

  const char* name = nullptr;
  // False where the backend cannot run `op` at `shape` (the harness then skips the case there;
  // a caller can fall back or refuse before it runs).
  bool (*supports)(OpKind op, const OpShape& shape) = nullptr;

#define TIGERFG_OP_FIELD(Name, field, Ret, Params) Name##Fn field = nullptr;
  TIGERFG_OPS(TIGERFG_OP_FIELD)
#undef TIGERFG_OP_FIELD
};

// Whether `op`'s entry of `backend` is filled.
bool HasOp(const OpsBackend& backend, OpKind op);

// Whether this build has a backend for `device` (CPU always; CUDA when built with nvcc).
bool BackendCompiled(Device device);
// The table of `device`'s backend; a device without a compiled backend is a broken invariant.
const OpsBackend& BackendFor(Device device);
// The backend of ctx's device, checked to implement `op`: what the public entry points call.
const OpsBackend& BackendForOp(const Context& ctx, OpKind op);

// Each backend's implementations (same names and types as the public ops) and its table. The
// declarations come from the list, so an implementation whose signature drifts does not link.
#define TIGERFG_DECLARE_OP(Name, field, Ret, Params) Ret Name Params;
namespace cpu {
TIGERFG_OPS(TIGERFG_DECLARE_OP)
const OpsBackend& Backend();
}  // namespace cpu
namespace cuda {
TIGERFG_OPS(TIGERFG_DECLARE_OP)
const OpsBackend& Backend();  // defined in CUDA builds only (ops/cuda/backend.cc)
}  // namespace cuda
#undef TIGERFG_DECLARE_OP

}  // namespace tigerfg::ops
