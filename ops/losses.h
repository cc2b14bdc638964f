// ops/losses.h — the TIGER-FG loss terms, written for the distributed form (DESIGN.md §3): a rank
// holds the gathered global embeddings [G, E] and computes the loss rows of its b local samples,
// global rows [row0, row0 + b). Each loss is the mean over those b rows; with one rank b = G and
// the result is exactly the spec's global-batch loss. Losses are fp32 scalars in loss[1].
#pragma once
#include <cstdint>

#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// ---- scaled similarity logits
// s = min(exp(logit_scale[0]), max_scale) (saved in scale[1]).
// row_logits[b, G] = s · q[row0 + i] · e[j]   (queries of this rank against every item)
// col_logits[b, G] = s · e[row0 + i] · q[j]   (items of this rank against every query)
void ScaledLogitsForward(const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale,
                         const Tensor& q, const Tensor& e, const Tensor& logit_scale,
                         float max_scale, int64_t row0);
// dq[G, E] and de[G, E] are written (=); dlogit_scale[1] accumulates (+=), zero gradient where
// the clamp is active (exp(logit_scale) > max_scale). dcol_logits may be empty.
void ScaledLogitsBackward(const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale,
                          const Tensor& drow_logits, const Tensor& dcol_logits, const Tensor& q,
                          const Tensor& e, const Tensor& logit_scale, const Tensor& scale,
                          float max_scale, int64_t row0);

// ---- multi-positive InfoNCE: loss = mean_i [ logsumexp_j logits_ij - logsumexp_{j: pos} logits_ij
// ] logits[b, G]; row i is global sample row0 + i; j is a positive when product_ids[row0 + i] ==
// product_ids[j] (product_ids[G], I64). The diagonal is always positive.
void MultiPositiveNceForward(const Context& ctx, Tensor loss, const Tensor& logits,
                             const Tensor& product_ids, int64_t row0);
// dlogits[b, G] = dloss · d loss / d logits, written (=).
void MultiPositiveNceBackward(const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,
                              const Tensor& product_ids, int64_t row0);

// ---- SDD: similarity-distribution distillation
// p_teacher[b, G] = softmax_j(teacher_q[i] · teacher_items[j] / tau)  (saved)
// loss = mean_i Σ_j p_t (log max(p_t, 1e-30) - log_softmax(student_logits)_ij)
// teacher_q[b, Et] are this rank's normalised teacher query CLS; teacher_items[G, Et] gathered.
void SddLossForward(const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,
                    const Tensor& teacher_q, const Tensor& teacher_items, float tau);
// dstudent_logits[b, G] ACCUMULATES (+=) dloss · d loss / d student_logits (it adds to the NCE
// gradient of the same row logits).
void SddLossBackward(const Context& ctx, Tensor dstudent_logits, float dloss,
                     const Tensor& p_teacher, const Tensor& student_logits);

// ---- SRD: spatial-relational distillation
// teacher_map[b, N] = softmax_n(teacher_patches[i, n] · teacher_q[i] / tau_map)  (saved)
// loss = mean_i Σ_n m_t (log max(m_t, 1e-30) - log max(amap_in, 1e-8))
// amap[b, N] is the student's grounding map (head mean of the last layer); teacher_patches
// [b, N, Et] and teacher_q [b, Et] are normalised.
void SrdLossForward(const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,
                    const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map);
// SRD towards a given target map instead of the teacher's (model.srd_target MASK: the product
// box's patch coverage, rows summing to 1):
// loss = mean_i Σ_n t (log max(t, 1e-30) - log max(amap, 1e-8)), t = target_map[b, N].
// Its gradient is SrdLossBackward's with target_map in place of teacher_map.
void SrdTargetLossForward(const Context& ctx, Tensor loss, const Tensor& target_map,
                          const Tensor& amap);
// damap[b, N] is written (=): -dloss · m_t / (b · amap) where amap > 1e-8, else 0.
void SrdLossBackward(const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,
                     const Tensor& amap);

// ---- the step's loss terms, combined on the device (no host read inside a step)
// terms F32 [kLossTermSlots]: fp32 total, contrastive, srd, sdd, and 1 where total is not finite
// (else 0), all written from terms64 after the update. terms64 F32 [kLossTerm64Slots], 8-byte
// aligned: the same four terms as doubles (each double's bits in two slots), updated in double
// in this order, each [1] loss read as a double:
//   loss_row, loss_col given: contrastive = 0.5 (row + col), total = w.contrastive · contrastive,
//     srd = sdd = 0 (a new step; without them terms64 is accumulated onto);
//   loss_srd given: s = w.srd_share · srd; srd += s; total = fma(w.srd, s, total);
//   loss_sdd given: sdd = sdd; total = fma(w.sdd, sdd, total).
// (The two weighted additions are fused multiply-adds, as the host's contracted arithmetic was;
// every other step one rounding: the CPU and CUDA terms are the same bits.)
constexpr int64_t kLossTermSlots = 5;
constexpr int64_t kLossTerm64Slots = 8;
struct LossTermWeights {
  float contrastive = 1, srd = 0, sdd = 0;
  double srd_share = 1;  // a chunk's share of the local SRD mean (micro_batch / local_batch)
};
void LossTermsUpdate(const Context& ctx, Tensor terms, Tensor terms64, const Tensor& loss_row,
                     const Tensor& loss_col, const Tensor& loss_srd, const Tensor& loss_sdd,
                     const LossTermWeights& w);

}  // namespace tigerfg::ops
