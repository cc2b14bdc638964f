// model/transformer_block.cc — x = x + proj(attn(ln1(x))); x = x + fc2(gelu(fc1(ln2(x)))).
#include "model/transformer_block.h"

#include <glog/logging.h>

#include "ops/attention.h"
#include "ops/cast.h"
#include "ops/flash_attention.h"
#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/linear.h"
#include "ops/tensor_ops.h"
#include "runtime/core/nvtx.h"

namespace tigerfg::model {

namespace {
constexpr float kLnEps = 1e-6f;
}

void BlockActs::Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int heads,
                     int ratio, DType act, AttentionKernel attention) {
  const int64_t n = batch * seq;
  arena->Plan(&ln1_out, Shape{n, dim}, act);
  arena->Plan(&ln1_mean, Shape{n});
  arena->Plan(&ln1_rstd, Shape{n});
  arena->Plan(&qkv, Shape{n, 3 * dim}, act);
  if (SavesLse(attention)) {
    arena->Plan(&lse, Shape{batch, heads, seq});
  } else {
    arena->Plan(&probs, Shape{batch, heads, seq, seq});
  }
  arena->Plan(&attn_out, Shape{n, dim}, act);
  arena->Plan(&mid, Shape{n, dim});
  arena->Plan(&ln2_out, Shape{n, dim}, act);
  arena->Plan(&ln2_mean, Shape{n});
  arena->Plan(&ln2_rstd, Shape{n});
  arena->Plan(&fc1_out, Shape{n, ratio * dim}, act);
  arena->Plan(&gelu_out, Shape{n, ratio * dim}, act);
}

void BlockScratch::Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int heads,
                        int ratio, DType act, AttentionKernel attention) {
  const int64_t n = batch * seq;
  arena->Plan(&d_a, Shape{n, dim}, act);
  arena->Plan(&d_qkv, Shape{n, 3 * dim}, act);
  arena->Plan(&d_hidden, Shape{n, ratio * dim}, act);
  if (act == DType::kBF16) arena->Plan(&d_stream16, Shape{n, dim}, DType::kBF16);
  if (SavesLse(attention)) {
    arena->Plan(&attn_ws, Shape{ops::FlashAttentionWorkspaceNumel(batch, seq, dim, heads)});
  }
}

TransformerBlock::TransformerBlock(const ParamStore& store, const std::string& prefix, int heads,
                                   AttentionKernel attention)
    : heads_(heads),
      bf16_(store.activation_dtype() == DType::kBF16),
      flash_(SavesLse(attention)),
      cudnn_(attention == AttentionKernel::kCudnn),
      nvtx_forward_(prefix + "forward"),
      nvtx_backward_(prefix + "backward"),
      ln1_(GetAffine(store, prefix + "ln1")),
      qkv_(GetAffine(store, prefix + "attn.qkv")),
      proj_(GetAffine(store, prefix + "attn.proj")),
      ln2_(GetAffine(store, prefix + "ln2")),
      fc1_(GetAffine(store, prefix + "mlp.fc1")),
      fc2_(GetAffine(store, prefix + "mlp.fc2")) {
  CHECK(flash_ || !bf16_) << prefix << ": the unfused attention takes fp32 activations only "
                          << "(ResolveAttention refuses it in BF16 mode)";
}

void TransformerBlock::Forward(const Context& ctx, Tensor x_out, const Tensor& x_in,
                               const Tensor& key_valid, const BlockActs& a,
                               const BlockScratch& s) const {
  TIGERFG_NVTX_RANGE(nvtx_forward_);
  const int64_t dim = a.mid.dim(1);
  ops::LayerNormForward(ctx, a.ln1_out, a.ln1_mean, a.ln1_rstd, x_in, ln1_.w, ln1_.b, kLnEps);
  ops::LinearForward(ctx, a.qkv, a.ln1_out, GemmWeight(qkv_), qkv_.b);
  if (flash_) {
    const int64_t b = a.lse.dim(0), S = a.lse.dim(2);
    auto forward = cudnn_ ? ops::CudnnAttentionForward : ops::FlashAttentionForward;
    forward(ctx, a.attn_out.View(Shape{b, S, dim}), a.lse, a.qkv.View(Shape{b, S, 3 * dim}),
            key_valid, heads_);
  } else {
    const int64_t b = a.probs.dim(0), S = a.probs.dim(2);
    ops::SelfAttentionForward(ctx, a.attn_out.View(Shape{b, S, dim}), a.probs,
                              a.qkv.View(Shape{b, S, 3 * dim}), key_valid, heads_);
  }
  // The residual adds ride on the GEMMs (beta = 1): mid = x_in + proj(attn).
  ops::LinearForwardAdd(ctx, a.mid, a.attn_out, GemmWeight(proj_), proj_.b, x_in);
  ops::LayerNormForward(ctx, a.ln2_out, a.ln2_mean, a.ln2_rstd, a.mid, ln2_.w, ln2_.b, kLnEps);
  // fc1 and its GELU in one op where the backend has it (the CUDA BF16 path: cuBLASLt's
  // GELU_AUX_BIAS epilogue); the CPU's fused ops are the separate ones, bit for bit.
  if (ops::FusedMlpSupported(ctx, a.fc1_out.dtype())) {
    ops::LinearBiasGeluForward(ctx, a.gelu_out, a.fc1_out, a.ln2_out, GemmWeight(fc1_), fc1_.b);
  } else {
    ops::LinearForward(ctx, a.fc1_out, a.ln2_out, GemmWeight(fc1_), fc1_.b);
    ops::GeluForward(ctx, a.gelu_out, a.fc1_out);
  }
  ops::LinearForwardAdd(ctx, x_out, a.gelu_out, GemmWeight(fc2_), fc2_.b, a.mid);
}

void TransformerBlock::Backward(const Context& ctx, Tensor dx, const Tensor& x_in,
                                const Tensor& key_valid, const BlockActs& a,
                                const BlockScratch& s) const {
  TIGERFG_NVTX_RANGE(nvtx_backward_);
  const int64_t dim = a.mid.dim(1);
  // The GEMMs read the residual gradient in the activations' type.
  auto stream_grad = [&]() -> Tensor {
    if (!bf16_) return dx;
    ops::Cast(ctx, s.d_stream16, dx);
    return s.d_stream16;
  };
  // MLP branch: dx holds d(out); afterwards d(mid).
  if (ops::FusedMlpSupported(ctx, a.fc1_out.dtype())) {
    // fc2's dx through the GELU's backward, fc1's bias gradient on the way (DGELU_BGRAD on CUDA).
    ops::LinearBackwardGelu(ctx, s.d_hidden, fc2_.dw, fc2_.db, fc1_.db, stream_grad(), a.gelu_out,
                            GemmWeight(fc2_), a.fc1_out);
    ops::LinearBackward(ctx, s.d_a, fc1_.dw, Tensor(), s.d_hidden, a.ln2_out, GemmWeight(fc1_));
  } else {
    ops::LinearBackward(ctx, s.d_hidden, fc2_.dw, fc2_.db, stream_grad(), a.gelu_out,
                        GemmWeight(fc2_));
    ops::GeluBackward(ctx, s.d_hidden, s.d_hidden, a.fc1_out);
    ops::LinearBackward(ctx, s.d_a, fc1_.dw, fc1_.db, s.d_hidden, a.ln2_out, GemmWeight(fc1_));
  }
  // The LayerNorms' input gradients add straight into the residual stream's; in BF16 the one
  // after the MLP also writes the bf16 copy the proj GEMM reads (no separate Cast).
  if (bf16_) {
    ops::LayerNormBackwardWithCopy(ctx, dx, s.d_stream16, ln2_.dw, ln2_.db, s.d_a, a.mid, ln2_.w,
                                   a.ln2_mean, a.ln2_rstd, /*accumulate_dx=*/true);
  } else {
    ops::LayerNormBackward(ctx, dx, ln2_.dw, ln2_.db, s.d_a, a.mid, ln2_.w, a.ln2_mean, a.ln2_rstd,
                           /*accumulate_dx=*/true);
  }
  // Attention branch: afterwards d(x_in).
  ops::LinearBackward(ctx, s.d_a, proj_.dw, proj_.db, bf16_ ? s.d_stream16 : dx, a.attn_out,
                      GemmWeight(proj_));
  if (flash_) {
    const int64_t b = a.lse.dim(0), S = a.lse.dim(2);
    const Shape tokens{b, S, dim};
    auto backward = cudnn_ ? ops::CudnnAttentionBackward : ops::FlashAttentionBackward;
    backward(ctx, s.d_qkv.View(Shape{b, S, 3 * dim}), s.attn_ws, s.d_a.View(tokens),
             a.qkv.View(Shape{b, S, 3 * dim}), a.attn_out.View(tokens), a.lse, key_valid, heads_);
  } else {
    const int64_t b = a.probs.dim(0), S = a.probs.dim(2);
    ops::SelfAttentionBackward(ctx, s.d_qkv.View(Shape{b, S, 3 * dim}),
                               s.d_a.View(Shape{b, S, dim}), a.qkv.View(Shape{b, S, 3 * dim}),
                               a.probs, heads_);
  }
  ops::LinearBackward(ctx, s.d_a, qkv_.dw, qkv_.db, s.d_qkv, a.ln1_out, GemmWeight(qkv_));
  // The key bias adds a per-row constant to the scores, which softmax ignores: its gradient is
  // exactly zero, and what backward computed there is rounding noise that Adam's m / sqrt(v)
  // would turn into lr-sized steps (and into differences between world sizes). Write the zero.
  ops::Zero(ctx, qkv_.db.Slice(dim, 2 * dim));
  ops::LayerNormBackward(ctx, dx, ln1_.dw, ln1_.db, s.d_a, x_in, ln1_.w, a.ln1_mean, a.ln1_rstd,
                         /*accumulate_dx=*/true);
}

}  // namespace tigerfg::model
