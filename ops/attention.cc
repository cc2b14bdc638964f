// ops/attention.cc — the public self-attention ops: shapes checked once, then the device's backend.
#include "ops/attention.h"

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops {

void SelfAttentionForward(const Context& ctx, Tensor out, Tensor probs, const Tensor& qkv,
                          const Tensor& key_valid, int heads) {
  const char* op = "SelfAttentionForward";
  const auto [B, S, D, H, d] = CheckQkv(qkv, heads, op);
  CheckF32Shape(out, Shape({B, S, D}), op, "out");
  CheckF32Shape(probs, Shape({B, H, S, S}), op, "probs");
  if (key_valid.defined()) {
    CHECK(key_valid.dtype() == DType::kU8)
        << op << ": key_valid is " << DTypeName(key_valid.dtype()) << ", not U8";
    CHECK(key_valid.shape() == Shape({B, S}))
        << op << ": key_valid is " << key_valid.shape().ToString() << ", expected [" << B << ", "
        << S << "]";
  }
  BackendForOp(ctx, OpKind::kSelfAttentionForward)
      .self_attention_forward(ctx, out, probs, qkv, key_valid, heads);
}

void SelfAttentionBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                           const Tensor& probs, int heads) {
  const char* op = "SelfAttentionBackward";
  const auto [B, S, D, H, d] = CheckQkv(qkv, heads, op);
  CheckF32Shape(dqkv, qkv.shape(), op, "dqkv");
  CheckF32Shape(dout, Shape({B, S, D}), op, "dout");
  CheckF32Shape(probs, Shape({B, H, S, S}), op, "probs");
  BackendForOp(ctx, OpKind::kSelfAttentionBackward)
      .self_attention_backward(ctx, dqkv, dout, qkv, probs, heads);
}

}  // namespace tigerfg::ops
