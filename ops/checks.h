// ops/checks.h — argument checks of the ops' public entry points (ops/*.cc), run once before an
// op dispatches through the backend table, and the shapes the backends derive without checking.
// Broken invariants, not user input: failures are CHECKs naming the op and the tensor.
#pragma once

#include <glog/logging.h>

#include <cstdint>

#include "runtime/core/tensor.h"

namespace tigerfg::ops {

inline void CheckF32Shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  CHECK(t.dtype() == DType::kF32) << op << ": " << name << " is " << DTypeName(t.dtype())
                                  << ", not F32";
  CHECK(t.shape() == shape) << op << ": " << name << " is " << t.shape().ToString() << ", expected "
                            << shape.ToString();
}

// Rows of t[..., C] (none when C == 0), once the entry point has checked the last dimension.
inline int64_t RowCount(const Tensor& t, int64_t C) { return C == 0 ? 0 : t.numel() / C; }

// Checks that t is [..., C] and returns its rows.
inline int64_t CheckRows(const Tensor& t, int64_t C, const char* op, const char* name) {
  CHECK(t.ndim() >= 1 && t.dim(-1) == C)
      << op << ": " << name << " " << t.shape().ToString() << ", last dimension must be " << C;
  return RowCount(t, C);
}

// Self-attention over qkv[B, S, 3D] in the spec's (B, S, 3, heads, d) layout.
struct AttentionDims {
  int64_t batch, seq, width, heads, head_dim;
};

inline AttentionDims QkvDims(const Tensor& qkv, int heads) {
  const int64_t width = qkv.dim(2) / 3;
  return {qkv.dim(0), qkv.dim(1), width, heads, width / heads};
}

inline AttentionDims CheckQkv(const Tensor& qkv, int heads, const char* op) {
  CHECK(qkv.dtype() == DType::kF32) << op << ": qkv is " << DTypeName(qkv.dtype()) << ", not F32";
  CHECK_EQ(qkv.ndim(), 3) << op << ": qkv must be [B, S, 3D], got " << qkv.shape().ToString();
  CHECK_GT(heads, 0) << op << ": heads must be positive";
  CHECK_EQ(qkv.dim(2) % (3 * heads), 0) << op << ": qkv " << qkv.shape().ToString()
                                        << " is not [B, S, 3 * heads * d], heads " << heads;
  return QkvDims(qkv, heads);
}

// Grounding cross-attention: q[B, D] over kv[B, N, 2D].
struct GroundingDims {
  int64_t batch, patches, width, heads, head_dim;
};

inline GroundingDims QueryKeyDims(const Tensor& q, const Tensor& kv, int heads) {
  return {q.dim(0), kv.dim(1), q.dim(1), heads, q.dim(1) / heads};
}

inline GroundingDims CheckQueryKeys(const Tensor& q, const Tensor& kv, int heads, const char* op) {
  CHECK(q.dtype() == DType::kF32 && kv.dtype() == DType::kF32) << op << ": q and kv must be F32";
  CHECK_EQ(q.ndim(), 2) << op << ": q must be [B, D], got " << q.shape().ToString();
  CHECK_GT(heads, 0) << op << ": heads must be positive";
  const int64_t B = q.dim(0), D = q.dim(1);
  CHECK_EQ(D % heads, 0) << op << ": width " << D << " is not divisible by heads " << heads;
  CHECK(kv.ndim() == 3 && kv.dim(0) == B && kv.dim(2) == 2 * D)
      << op << ": kv is " << kv.shape().ToString() << ", expected [" << B << ", N, " << 2 * D
      << "]";
  return QueryKeyDims(q, kv, heads);
}

}  // namespace tigerfg::ops
