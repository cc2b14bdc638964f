// ops/loss_checks.h — argument checks shared by the CPU losses and their CUDA twins (host code).
#pragma once

#include <glog/logging.h>

#include "runtime/tensor.h"

namespace tigerfg::ops {

inline void CheckF32Matrix(const Tensor& t, const char* op, const char* name) {
  CHECK(t.dtype() == DType::kF32 && t.ndim() == 2)
      << op << ": " << name << " must be an F32 matrix, got " << DTypeName(t.dtype()) << " "
      << t.shape().ToString();
}

// logits[b, G] against product_ids[G] (I64) for rows [row0, row0 + b).
inline void CheckNceInputs(const Tensor& logits, const Tensor& product_ids, int64_t row0,
                           const char* op) {
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

}  // namespace tigerfg::ops
