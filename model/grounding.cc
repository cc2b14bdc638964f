// model/grounding.cc — per layer: g += proj(attn(q(ln_q(g)), kv(ln_kv(patches)))),
// g += fc2(gelu(fc1(ln_m(g)))); then ln_out.
#include "model/grounding.h"

#include "ops/gelu.h"
#include "ops/grounding.h"
#include "ops/layernorm.h"
#include "ops/linear.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

namespace {
constexpr float kLnEps = 1e-6f;
constexpr int kMlpRatio = 4;  // the spec's GroundLayer(dv, heads, 4)
}  // namespace

Grounding::Grounding(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
                     int64_t num_patches, ActivationArena* arena)
    : store_(store),
      heads_(cfg.ground_heads()),
      batch_(batch),
      num_patches_(num_patches),
      width_(cfg.item().width()) {
  const int64_t b = batch, n = num_patches, d = width_, h = kMlpRatio * d;
  text_proj_ = GetAffine(store, "ground.text_proj");
  ln_out_ = GetAffine(store, "ground.ln_out");
  layers_.resize(cfg.ground_layers());
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    l.prefix = "ground.layers." + std::to_string(i) + ".";
    l.ln_q = GetAffine(store, l.prefix + "ln_q");
    l.ln_kv = GetAffine(store, l.prefix + "ln_kv");
    l.q = GetAffine(store, l.prefix + "q");
    l.kv = GetAffine(store, l.prefix + "kv");
    l.proj = GetAffine(store, l.prefix + "proj");
    l.ln_m = GetAffine(store, l.prefix + "ln_m");
    l.fc1 = GetAffine(store, l.prefix + "mlp.fc1");
    l.fc2 = GetAffine(store, l.prefix + "mlp.fc2");
    arena->Plan(&l.lnq_out, Shape{b, d});
    arena->Plan(&l.lnq_mean, Shape{b});
    arena->Plan(&l.lnq_rstd, Shape{b});
    arena->Plan(&l.q_out, Shape{b, d});
    arena->Plan(&l.lnkv_out, Shape{b * n, d});
    arena->Plan(&l.lnkv_mean, Shape{b * n});
    arena->Plan(&l.lnkv_rstd, Shape{b * n});
    arena->Plan(&l.kv_out, Shape{b * n, 2 * d});
    arena->Plan(&l.probs, Shape{b, heads_, n});
    arena->Plan(&l.attn_out, Shape{b, d});
    arena->Plan(&l.mid, Shape{b, d});
    arena->Plan(&l.lnm_out, Shape{b, d});
    arena->Plan(&l.lnm_mean, Shape{b});
    arena->Plan(&l.lnm_rstd, Shape{b});
    arena->Plan(&l.fc1_out, Shape{b, h});
    arena->Plan(&l.gelu_out, Shape{b, h});
  }
  guide_.resize(layers_.size() + 1);
  for (Tensor& g : guide_) arena->Plan(&g, Shape{b, d});
  arena->Plan(&out_, Shape{b, d});
  arena->Plan(&out_mean_, Shape{b});
  arena->Plan(&out_rstd_, Shape{b});
  arena->Plan(&amap_, Shape{b, n});
  arena->Plan(&d_guide_, Shape{b, d});
  arena->Plan(&d_a_, Shape{b, d});
  arena->Plan(&d_b_, Shape{b, d});
  arena->Plan(&d_q_, Shape{b, d});
  arena->Plan(&d_hidden_, Shape{b, h});
  arena->Plan(&d_kv_, Shape{b * n, 2 * d});
  arena->Plan(&d_lnkv_, Shape{b * n, d});
  arena->Plan(&d_patch_ln_, Shape{b * n, d});
  arena->Plan(&d_probs_, Shape{b, heads_, n});
}

void Grounding::Forward(const Context& ctx, const Tensor& text_cls, const Tensor& patches) {
  text_cls_ = text_cls;
  patches_ = patches.View(Shape{batch_ * num_patches_, width_});
  ops::LinearForward(ctx, guide_[0], text_cls, text_proj_.w, text_proj_.b);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const Tensor& g = guide_[i];
    ops::LayerNormForward(ctx, l.lnq_out, l.lnq_mean, l.lnq_rstd, g, l.ln_q.w, l.ln_q.b, kLnEps);
    ops::LinearForward(ctx, l.q_out, l.lnq_out, l.q.w, l.q.b);
    ops::LayerNormForward(ctx, l.lnkv_out, l.lnkv_mean, l.lnkv_rstd, patches_, l.ln_kv.w, l.ln_kv.b,
                          kLnEps);
    ops::LinearForward(ctx, l.kv_out, l.lnkv_out, l.kv.w, l.kv.b);
    ops::GroundingAttentionForward(ctx, l.attn_out, l.probs, l.q_out,
                                   l.kv_out.View(Shape{batch_, num_patches_, 2 * width_}), heads_);
    // mid = g + proj(attn); next = mid + fc2(gelu(fc1(ln_m(mid)))); d_a_ is free in forward.
    ops::LinearForward(ctx, d_a_, l.attn_out, l.proj.w, l.proj.b);
    ops::Copy(ctx, l.mid, g);
    ops::AddInPlace(ctx, l.mid, d_a_);
    ops::LayerNormForward(ctx, l.lnm_out, l.lnm_mean, l.lnm_rstd, l.mid, l.ln_m.w, l.ln_m.b,
                          kLnEps);
    ops::LinearForward(ctx, l.fc1_out, l.lnm_out, l.fc1.w, l.fc1.b);
    ops::GeluForward(ctx, l.gelu_out, l.fc1_out);
    ops::LinearForward(ctx, d_a_, l.gelu_out, l.fc2.w, l.fc2.b);
    ops::Copy(ctx, guide_[i + 1], l.mid);
    ops::AddInPlace(ctx, guide_[i + 1], d_a_);
  }
  ops::LayerNormForward(ctx, out_, out_mean_, out_rstd_, guide_.back(), ln_out_.w, ln_out_.b,
                        kLnEps);
  ops::HeadMeanForward(ctx, amap_, layers_.back().probs);
}

void Grounding::Backward(const Context& ctx, Tensor dtext_cls, Tensor dpatches, const Tensor& dout,
                         const Tensor& damap, const ParamReadyFn& ready) {
  const Tensor dpatches_flat = dpatches.View(Shape{batch_ * num_patches_, width_});
  ops::LayerNormBackward(ctx, d_guide_, ln_out_.dw, ln_out_.db, dout, guide_.back(), ln_out_.w,
                         out_mean_, out_rstd_);
  store_.NotifyPrefix("ground.ln_out.", ready);
  ops::Zero(ctx, dpatches);
  for (int i = static_cast<int>(layers_.size()) - 1; i >= 0; --i) {
    const Layer& l = layers_[i];
    // MLP branch: d_guide_ holds d(next guide); afterwards d(mid).
    ops::LinearBackward(ctx, d_hidden_, l.fc2.dw, l.fc2.db, d_guide_, l.gelu_out, l.fc2.w);
    ops::GeluBackward(ctx, d_hidden_, d_hidden_, l.fc1_out);
    ops::LinearBackward(ctx, d_a_, l.fc1.dw, l.fc1.db, d_hidden_, l.lnm_out, l.fc1.w);
    ops::LayerNormBackward(ctx, d_b_, l.ln_m.dw, l.ln_m.db, d_a_, l.mid, l.ln_m.w, l.lnm_mean,
                           l.lnm_rstd);
    ops::AddInPlace(ctx, d_guide_, d_b_);
    // Cross-attention branch; SRD adds its gradient to the last layer's map.
    ops::LinearBackward(ctx, d_a_, l.proj.dw, l.proj.db, d_guide_, l.attn_out, l.proj.w);
    Tensor dprobs;
    if (damap.defined() && i == static_cast<int>(layers_.size()) - 1) {
      ops::HeadMeanBackward(ctx, d_probs_, damap);
      dprobs = d_probs_;
    }
    ops::GroundingAttentionBackward(
        ctx, d_q_, d_kv_.View(Shape{batch_, num_patches_, 2 * width_}), d_a_, dprobs, l.q_out,
        l.kv_out.View(Shape{batch_, num_patches_, 2 * width_}), l.probs, heads_);
    ops::LinearBackward(ctx, d_a_, l.q.dw, l.q.db, d_q_, l.lnq_out, l.q.w);
    ops::LayerNormBackward(ctx, d_b_, l.ln_q.dw, l.ln_q.db, d_a_, guide_[i], l.ln_q.w, l.lnq_mean,
                           l.lnq_rstd);
    ops::AddInPlace(ctx, d_guide_, d_b_);
    ops::LinearBackward(ctx, d_lnkv_, l.kv.dw, l.kv.db, d_kv_, l.lnkv_out, l.kv.w);
    // The key bias (first half of kv) shifts every score of a head by one constant, which softmax
    // ignores: its gradient is exactly zero (see TransformerBlock::Backward).
    ops::Zero(ctx, l.kv.db.Slice(0, width_));
    ops::LayerNormBackward(ctx, d_patch_ln_, l.ln_kv.dw, l.ln_kv.db, d_lnkv_, patches_, l.ln_kv.w,
                           l.lnkv_mean, l.lnkv_rstd);
    ops::AddInPlace(ctx, dpatches_flat, d_patch_ln_);
    store_.NotifyPrefix(l.prefix, ready);
  }
  ops::LinearBackward(ctx, dtext_cls, text_proj_.dw, text_proj_.db, d_guide_, text_cls_,
                      text_proj_.w);
  store_.NotifyPrefix("ground.text_proj.", ready);
}

}  // namespace tigerfg::model
