// ops/losses.cc — the public loss ops: dtypes, shapes and local rows checked once, then the
// device's backend.
#include "ops/losses.h"

#include <cstdint>

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {
namespace {

void CheckF32Matrix(const Tensor& t, const char* op, const char* name) {
  CHECK(t.dtype() == DType::kF32 && t.ndim() == 2)
      << op << ": " << name << " must be an F32 matrix, got " << DTypeName(t.dtype()) << " "
      << t.shape().ToString();
}

// logits[b, G] against product_ids[G] (I64) for rows [row0, row0 + b).
void CheckNceInputs(const Tensor& logits, const Tensor& product_ids, int64_t row0, const char* op) {
  CheckF32Matrix(logits, op, "logits");
  CHECK(product_ids.dtype() == DType::kI64)
      << op << ": product_ids is " << DTypeName(product_ids.dtype()) << ", not I64";
  CHECK(product_ids.ndim() == 1 && product_ids.dim(0) == logits.dim(1))
      << op << ": product_ids is " << product_ids.shape().ToString() << ", logits "
      << logits.shape().ToString();
  CHECK(row0 >= 0 && row0 + logits.dim(0) <= logits.dim(1))
      << op << ": local rows [" << row0 << ", " << row0 + logits.dim(0) << ") outside the batch of "
      << logits.dim(1);
}

// q, e [G, E] and the local rows' logits [b, G] for rows [row0, row0 + b); returns b.
int64_t CheckLogitRows(const Tensor& q, const Tensor& e, const Tensor& logits, int64_t row0,
                       const char* op, const char* name) {
  CheckF32Matrix(q, op, "q");
  const int64_t G = q.dim(0);
  CheckF32Shape(e, q.shape(), op, "e");
  CheckF32Matrix(logits, op, name);
  const int64_t b = logits.dim(0);
  CHECK(row0 >= 0 && row0 + b <= G)
      << op << ": local rows [" << row0 << ", " << row0 + b << ") outside the batch of " << G;
  CheckF32Shape(logits, Shape({b, G}), op, name);
  return b;
}

}  // namespace

void ScaledLogitsForward(const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale,
                         const Tensor& q, const Tensor& e, const Tensor& logit_scale,
                         float max_scale, int64_t row0) {
  const char* op = "ScaledLogitsForward";
  const int64_t b = CheckLogitRows(q, e, row_logits, row0, op, "row_logits");
  const int64_t G = q.dim(0);
  if (col_logits.defined()) CheckF32Shape(col_logits, Shape({b, G}), op, "col_logits");
  CheckF32Shape(scale, Shape({1}), op, "scale");
  CheckF32Shape(logit_scale, Shape({1}), op, "logit_scale");
  BackendForOp(ctx, OpKind::kScaledLogitsForward)
      .scaled_logits_forward(ctx, row_logits, col_logits, scale, q, e, logit_scale, max_scale,
                             row0);
}

void ScaledLogitsBackward(const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale,
                          const Tensor& drow_logits, const Tensor& dcol_logits, const Tensor& q,
                          const Tensor& e, const Tensor& logit_scale, const Tensor& scale,
                          float max_scale, int64_t row0) {
  const char* op = "ScaledLogitsBackward";
  const int64_t b = CheckLogitRows(q, e, drow_logits, row0, op, "drow_logits");
  const int64_t G = q.dim(0);
  CheckF32Shape(dq, q.shape(), op, "dq");
  CheckF32Shape(de, q.shape(), op, "de");
  if (dcol_logits.defined()) CheckF32Shape(dcol_logits, Shape({b, G}), op, "dcol_logits");
  CheckF32Shape(dlogit_scale, Shape({1}), op, "dlogit_scale");
  CheckF32Shape(logit_scale, Shape({1}), op, "logit_scale");
  CheckF32Shape(scale, Shape({1}), op, "scale");
  BackendForOp(ctx, OpKind::kScaledLogitsBackward)
      .scaled_logits_backward(ctx, dq, de, dlogit_scale, drow_logits, dcol_logits, q, e,
                              logit_scale, scale, max_scale, row0);
}

void MultiPositiveNceForward(const Context& ctx, Tensor loss, const Tensor& logits,
                             const Tensor& product_ids, int64_t row0) {
  CheckNceInputs(logits, product_ids, row0, "MultiPositiveNceForward");
  CheckF32Shape(loss, Shape({1}), "MultiPositiveNceForward", "loss");
  BackendForOp(ctx, OpKind::kMultiPositiveNceForward)
      .multi_positive_nce_forward(ctx, loss, logits, product_ids, row0);
}

void MultiPositiveNceBackward(const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,
                              const Tensor& product_ids, int64_t row0) {
  CheckNceInputs(logits, product_ids, row0, "MultiPositiveNceBackward");
  CheckF32Shape(dlogits, logits.shape(), "MultiPositiveNceBackward", "dlogits");
  BackendForOp(ctx, OpKind::kMultiPositiveNceBackward)
      .multi_positive_nce_backward(ctx, dlogits, dloss, logits, product_ids, row0);
}

void SddLossForward(const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,
                    const Tensor& teacher_q, const Tensor& teacher_items, float tau) {
  const char* op = "SddLossForward";
  CheckF32Matrix(student_logits, op, "student_logits");
  const int64_t b = student_logits.dim(0), G = student_logits.dim(1);
  CheckF32Matrix(teacher_items, op, "teacher_items");
  const int64_t Et = teacher_items.dim(1);
  CheckF32Shape(teacher_items, Shape({G, Et}), op, "teacher_items");
  CheckF32Shape(teacher_q, Shape({b, Et}), op, "teacher_q");
  CheckF32Shape(p_teacher, Shape({b, G}), op, "p_teacher");
  CheckF32Shape(loss, Shape({1}), op, "loss");
  CHECK_GT(tau, 0.0f) << op << ": tau must be positive";
  BackendForOp(ctx, OpKind::kSddLossForward)
      .sdd_loss_forward(ctx, loss, p_teacher, student_logits, teacher_q, teacher_items, tau);
}

void SddLossBackward(const Context& ctx, Tensor dstudent_logits, float dloss,
                     const Tensor& p_teacher, const Tensor& student_logits) {
  const char* op = "SddLossBackward";
  CheckF32Matrix(student_logits, op, "student_logits");
  CheckF32Shape(p_teacher, student_logits.shape(), op, "p_teacher");
  CheckF32Shape(dstudent_logits, student_logits.shape(), op, "dstudent_logits");
  BackendForOp(ctx, OpKind::kSddLossBackward)
      .sdd_loss_backward(ctx, dstudent_logits, dloss, p_teacher, student_logits);
}

void SrdLossForward(const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,
                    const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map) {
  const char* op = "SrdLossForward";
  CheckF32Matrix(amap, op, "amap");
  const int64_t b = amap.dim(0), N = amap.dim(1);
  CheckF32Matrix(teacher_q, op, "teacher_q");
  const int64_t Et = teacher_q.dim(1);
  CheckF32Shape(teacher_q, Shape({b, Et}), op, "teacher_q");
  CheckF32Shape(teacher_patches, Shape({b, N, Et}), op, "teacher_patches");
  CheckF32Shape(teacher_map, Shape({b, N}), op, "teacher_map");
  CheckF32Shape(loss, Shape({1}), op, "loss");
  CHECK_GT(tau_map, 0.0f) << op << ": tau_map must be positive";
  BackendForOp(ctx, OpKind::kSrdLossForward)
      .srd_loss_forward(ctx, loss, teacher_map, amap, teacher_patches, teacher_q, tau_map);
}

void SrdTargetLossForward(const Context& ctx, Tensor loss, const Tensor& target_map,
                          const Tensor& amap) {
  const char* op = "SrdTargetLossForward";
  CheckF32Matrix(amap, op, "amap");
  CheckF32Shape(target_map, amap.shape(), op, "target_map");
  CheckF32Shape(loss, Shape({1}), op, "loss");
  BackendForOp(ctx, OpKind::kSrdTargetLossForward)
      .srd_target_loss_forward(ctx, loss, target_map, amap);
}

void SrdLossBackward(const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,
                     const Tensor& amap) {
  const char* op = "SrdLossBackward";
  CheckF32Matrix(amap, op, "amap");
  CheckF32Shape(teacher_map, amap.shape(), op, "teacher_map");
  CheckF32Shape(damap, amap.shape(), op, "damap");
  BackendForOp(ctx, OpKind::kSrdLossBackward)
      .srd_loss_backward(ctx, damap, dloss, teacher_map, amap);
}

void LossTermsUpdate(const Context& ctx, Tensor terms, Tensor terms64, const Tensor& loss_row,
                     const Tensor& loss_col, const Tensor& loss_srd, const Tensor& loss_sdd,
                     const LossTermWeights& w) {
  const char* op = "LossTermsUpdate";
  CheckF32Shape(terms, Shape({kLossTermSlots}), op, "terms");
  CheckF32Shape(terms64, Shape({kLossTerm64Slots}), op, "terms64");
  CHECK(reinterpret_cast<uintptr_t>(terms64.data()) % alignof(double) == 0)
      << op << ": terms64 is not 8-byte aligned";
  CHECK_EQ(loss_row.defined(), loss_col.defined()) << op << ": loss_row and loss_col go together";
  if (loss_row.defined()) CheckF32Shape(loss_row, Shape({1}), op, "loss_row");
  if (loss_col.defined()) CheckF32Shape(loss_col, Shape({1}), op, "loss_col");
  if (loss_srd.defined()) CheckF32Shape(loss_srd, Shape({1}), op, "loss_srd");
  if (loss_sdd.defined()) CheckF32Shape(loss_sdd, Shape({1}), op, "loss_sdd");
  BackendForOp(ctx, OpKind::kLossTermsUpdate)
      .loss_terms_update(ctx, terms, terms64, loss_row, loss_col, loss_srd, loss_sdd, w);
}

}  // namespace tigerfg::ops
