// ops/grounding.cc — the public grounding-attention and head-mean ops: shapes checked once, then
// the device's backend.
#include "ops/grounding.h"

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {

void GroundingAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& q,
                               const Tensor& kv, int heads) {
  const char* op = "GroundingAttentionForward";
  const auto [B, N, D, H, d] = CheckQueryKeys(q, kv, heads, op);
  CheckF32Shape(out, Shape({B, D}), op, "out");
  CheckF32Shape(probs, Shape({B, H, N}), op, "probs");
  BackendForOp(ctx, OpKind::kGroundingAttentionForward)
      .grounding_attention_forward(ctx, out, probs, q, kv, heads);
}

void GroundingAttentionBackward(const Context& ctx, Tensor dq, Tensor dkv, const Tensor& dout,
                                const Tensor& dprobs, const Tensor& q, const Tensor& kv,
                                const Tensor& probs, int heads) {
  const char* op = "GroundingAttentionBackward";
  const auto [B, N, D, H, d] = CheckQueryKeys(q, kv, heads, op);
  CheckF32Shape(dq, q.shape(), op, "dq");
  CheckF32Shape(dkv, kv.shape(), op, "dkv");
  CheckF32Shape(dout, Shape({B, D}), op, "dout");
  CheckF32Shape(probs, Shape({B, H, N}), op, "probs");
  if (dprobs.defined()) CheckF32Shape(dprobs, Shape({B, H, N}), op, "dprobs");
  BackendForOp(ctx, OpKind::kGroundingAttentionBackward)
      .grounding_attention_backward(ctx, dq, dkv, dout, dprobs, q, kv, probs, heads);
}

void HeadMeanForward(const Context& ctx, Tensor amap, const Tensor& probs) {
  CHECK(probs.dtype() == DType::kF32 && probs.ndim() == 3)
      << "HeadMeanForward: probs must be F32 [B, heads, N], got " << probs.shape().ToString();
  CheckF32Shape(amap, Shape({probs.dim(0), probs.dim(2)}), "HeadMeanForward", "amap");
  BackendForOp(ctx, OpKind::kHeadMeanForward).head_mean_forward(ctx, amap, probs);
}

void HeadMeanBackward(const Context& ctx, Tensor dprobs, const Tensor& damap) {
  CHECK(dprobs.dtype() == DType::kF32 && dprobs.ndim() == 3)
      << "HeadMeanBackward: dprobs must be F32 [B, heads, N], got " << dprobs.shape().ToString();
  CheckF32Shape(damap, Shape({dprobs.dim(0), dprobs.dim(2)}), "HeadMeanBackward", "damap");
  BackendForOp(ctx, OpKind::kHeadMeanBackward).head_mean_backward(ctx, dprobs, damap);
}

}  // namespace tigerfg::ops
