// ops/flash_attention.cc — the public fused-attention ops: shapes and dtypes checked once, then
// the device's backend (which may take fewer dtypes and head sizes: OpsBackend::supports).
#include "ops/flash_attention.h"

#include <atomic>

#include "ops/backend.h"
#include "ops/checks.h"

#ifdef TIGERFG_WITH_CUDA_OPS
#include "ops/cuda/cudnn_sdpa.h"
#endif

namespace tigerfg::ops {
namespace {

AttentionDims CheckArgs(const Tensor& qkv, const Tensor& key_valid, const Tensor& lse, int heads,
                        const char* op) {
  CHECK_EQ(qkv.ndim(), 3) << op << ": qkv must be [B, S, 3D], got " << qkv.shape().ToString();
  CHECK_GT(heads, 0) << op << ": heads must be positive";
  CHECK_EQ(qkv.dim(2) % (3 * heads), 0) << op << ": qkv " << qkv.shape().ToString()
                                        << " is not [B, S, 3 * heads * d], heads " << heads;
  const AttentionDims n = QkvDims(qkv, heads);
  CHECK(lse.dtype() == DType::kF32 && lse.shape() == Shape({n.batch, heads, n.seq}))
      << op << ": lse is " << DTypeName(lse.dtype()) << " " << lse.shape().ToString()
      << ", expected F32 [" << n.batch << ", " << heads << ", " << n.seq << "]";
  if (key_valid.defined()) {
    CHECK(key_valid.dtype() == DType::kU8 && key_valid.shape() == Shape({n.batch, n.seq}))
        << op << ": key_valid is " << DTypeName(key_valid.dtype()) << " "
        << key_valid.shape().ToString() << ", expected U8 [" << n.batch << ", " << n.seq << "]";
  }
  return n;
}

void CheckLike(const Tensor& t, const Shape& shape, DType dtype, const char* op, const char* name) {
  CHECK(t.shape() == shape && t.dtype() == dtype)
      << op << ": " << name << " is " << DTypeName(t.dtype()) << " " << t.shape().ToString()
      << ", expected " << DTypeName(dtype) << " " << shape.ToString();
}

// The forward's arguments: qkv [B, S, 3 D], key_valid, lse and out [B, S, D] of qkv's dtype.
void CheckForwardArgs(const Tensor& out, const Tensor& lse, const Tensor& qkv,
                      const Tensor& key_valid, int heads, const char* op) {
  const AttentionDims n = CheckArgs(qkv, key_valid, lse, heads, op);
  CheckLike(out, Shape({n.batch, n.seq, n.width}), qkv.dtype(), op, "out");
}

// The backward's arguments: the forward's, with dqkv like qkv and dout like out.
void CheckBackwardArgs(const Tensor& dqkv, const Tensor& dout, const Tensor& qkv, const Tensor& out,
                       const Tensor& lse, const Tensor& key_valid, int heads, const char* op) {
  const AttentionDims n = CheckArgs(qkv, key_valid, lse, heads, op);
  const Shape token_shape({n.batch, n.seq, n.width});
  CheckLike(dqkv, qkv.shape(), qkv.dtype(), op, "dqkv");
  CheckLike(out, token_shape, qkv.dtype(), op, "out");
  CheckLike(dout, token_shape, qkv.dtype(), op, "dout");
}

}  // namespace

void FlashAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  CheckForwardArgs(out, lse, qkv, key_valid, heads, "FlashAttentionForward");
  BackendForOp(ctx, OpKind::kFlashAttentionForward)
      .flash_attention_forward(ctx, out, lse, qkv, key_valid, heads);
}

void FlashAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  CheckBackwardArgs(dqkv, dout, qkv, out, lse, key_valid, heads, "FlashAttentionBackward");
  BackendForOp(ctx, OpKind::kFlashAttentionBackward)
      .flash_attention_backward(ctx, dqkv, workspace, dout, qkv, out, lse, key_valid, heads);
}

void CudnnAttentionForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv,
                           const Tensor& key_valid, int heads) {
  CheckForwardArgs(out, lse, qkv, key_valid, heads, "CudnnAttentionForward");
  BackendForOp(ctx, OpKind::kCudnnAttentionForward)
      .cudnn_attention_forward(ctx, out, lse, qkv, key_valid, heads);
}

void CudnnAttentionBackward(const Context& ctx, Tensor dqkv, Tensor workspace, const Tensor& dout,
                            const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& key_valid, int heads) {
  CheckBackwardArgs(dqkv, dout, qkv, out, lse, key_valid, heads, "CudnnAttentionBackward");
  BackendForOp(ctx, OpKind::kCudnnAttentionBackward)
      .cudnn_attention_backward(ctx, dqkv, workspace, dout, qkv, out, lse, key_valid, heads);
}

Status CudnnAttentionCheck(const Context& ctx, int64_t seq, int64_t width, int heads) {
  if (!ctx.is_cuda()) return Status::Error("cuDNN's fused attention runs on CUDA devices only");
#ifdef TIGERFG_WITH_CUDA_OPS
  return cuda::CudnnSdpaCheck(ctx, seq, width, heads);
#else
  (void)seq;
  (void)width;
  (void)heads;
  return Status::Error("this build has no CUDA ops");
#endif
}

namespace {
std::atomic<bool> deterministic_attention{false};
}

void SetDeterministicAttention(bool deterministic) { deterministic_attention = deterministic; }

bool DeterministicAttention() { return deterministic_attention.load(); }

}  // namespace tigerfg::ops
