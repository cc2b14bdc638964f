// ops/cuda/cuda_ops.h — the CUDA twins of the public ops: same names and signatures as ops/*.h,
// reached through TIGERFG_CUDA_DISPATCH in the CPU entry points (tensors are device pointers).
// No CUDA headers here: CPU code includes this file.
#pragma once

#include <cstdint>

#include "ops/optim.h"
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops::cuda {

// ---- linear.cu
void LinearForward(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                   const Tensor& bias);
void LinearForwardAdd(const Context& ctx, Tensor out, const Tensor& x, const Tensor& w,
                      const Tensor& bias, const Tensor& residual);
void LinearBackward(const Context& ctx, Tensor dx, Tensor dw, Tensor dbias, const Tensor& dout,
                    const Tensor& x, const Tensor& w);

// ---- patch_embed.cu (the im2col step of ops::PatchEmbedForward)
void Im2Col(const Context& ctx, Tensor cols, const Tensor& img, int patch);

// ---- layernorm.cu
void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps);
void LayerNormBackward(const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta,
                       const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, bool accumulate_dx);

// ---- gelu.cu
void GeluForward(const Context& ctx, Tensor out, const Tensor& x);
void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x);

// ---- attention.cu
void SelfAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv,
                          const Tensor& key_valid, int heads);
void SelfAttentionBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                           const Tensor& probs, int heads);

// ---- flash_attention.cu (BF16 only)
void FlashAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads);
void FlashAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads);

// ---- grounding.cu
void GroundingAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& q,
                               const Tensor& kv, int heads);
void GroundingAttentionBackward(const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout,
                                const Tensor& dprobs, const Tensor& q, const Tensor& kv,
                                const Tensor& probs, int heads);
void HeadMeanForward(const Context& ctx, Tensor amap, const Tensor& probs);
void HeadMeanBackward(const Context& ctx, Tensor dprobs, const Tensor& damap);

// ---- embedding.cu
void EmbeddingForward(const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table);
void EmbeddingBackward(const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids);

// ---- normalize.cu
void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x);
void L2NormalizeBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out,
                         const Tensor& norm);

// ---- softmax.cu
void SoftmaxForward(const Context& ctx, Tensor out, const Tensor& x);
void SoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out);
void LogSoftmaxForward(const Context& ctx, Tensor out, const Tensor& x);
void LogSoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out);

// ---- losses.cu
void ScaledLogitsForward(const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale,
                         const Tensor& q, const Tensor& e, const Tensor& logit_scale,
                         float max_scale, int64_t row0);
void ScaledLogitsBackward(const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale,
                          const Tensor& drow_logits, const Tensor& dcol_logits, const Tensor& q,
                          const Tensor& e, const Tensor& logit_scale, const Tensor& scale,
                          float max_scale, int64_t row0);
void MultiPositiveNceForward(const Context& ctx, Tensor loss, const Tensor& logits,
                             const Tensor& product_ids, int64_t row0);
void MultiPositiveNceBackward(const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,
                              const Tensor& product_ids, int64_t row0);
void SddLossForward(const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,
                    const Tensor& teacher_q, const Tensor& teacher_items, float tau);
void SddLossBackward(const Context& ctx, Tensor dstudent_logits, float dloss,
                     const Tensor& p_teacher, const Tensor& student_logits);
void SrdLossForward(const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,
                    const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map);
void SrdLossBackward(const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,
                     const Tensor& amap);

// ---- tensor_ops.cu
void Zero(const Context& ctx, Tensor t);
void AddInPlace(const Context& ctx, Tensor y, const Tensor& x);
void Copy(const Context& ctx, Tensor dst, const Tensor& src);
void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos);
void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout);
void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos);
void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx);
void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin);
void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin);
void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b);
void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout);

// ---- cast.cu
void Cast(const Context& ctx, Tensor out, const Tensor& in);

// ---- optim.cu
void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& hyper);
// Σ x² in double; synchronises the context's stream to return it.
double SumOfSquares(const Context& ctx, const Tensor& x);

}  // namespace tigerfg::ops::cuda
