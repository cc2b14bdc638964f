// model/towers.cc — forward and backward of the query and item towers.
#include "model/towers.h"

#include "ops/linear.h"
#include "ops/normalize.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

QueryTower::QueryTower(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
                       ActivationArena* arena, AttentionKernel attention)
    : store_(store),
      vit_(store, "query.", cfg.query(), batch, /*trainable=*/true, arena, attention),
      proj_(GetAffine(store, "query_proj", /*has_bias=*/false)) {
  const int64_t d = cfg.query().width(), e = cfg.embed_dim();
  arena->Plan(&cls_, Shape{batch, d});
  arena->Plan(&proj_out_, Shape{batch, e});
  arena->Plan(&emb_, Shape{batch, e});
  arena->Plan(&norm_, Shape{batch});
  arena->Plan(&d_proj_, Shape{batch, e});
  arena->Plan(&d_cls_, Shape{batch, d});
}

void QueryTower::Forward(const Context& ctx, const Tensor& img) {
  vit_.Forward(ctx, img);
  ops::TokenSliceForward(ctx, cls_.View(Shape{cls_.dim(0), 1, cls_.dim(1)}), vit_.tokens(), 0);
  ops::LinearForward(ctx, proj_out_, cls_, proj_.w, Tensor());
  ops::L2NormalizeForward(ctx, emb_, norm_, proj_out_);
}

void QueryTower::Backward(const Context& ctx, const Tensor& demb, const ParamReadyFn& ready) {
  ops::L2NormalizeBackward(ctx, d_proj_, demb, emb_, norm_);
  ops::LinearBackward(ctx, d_cls_, proj_.dw, Tensor(), d_proj_, cls_, proj_.w);
  store_.NotifyPrefix("query_proj.", ready);
  ops::Zero(ctx, vit_.dtokens());
  ops::TokenSliceBackward(ctx, vit_.dtokens(), d_cls_.View(Shape{d_cls_.dim(0), 1, d_cls_.dim(1)}),
                          0);
  vit_.Backward(ctx, ready);
}

ItemTower::ItemTower(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
                     ActivationArena* arena, AttentionKernel attention)
    : store_(store),
      batch_(batch),
      vit_(store, "item_vision.", cfg.item(), batch, /*trainable=*/true, arena, attention),
      text_(store, cfg.text(), batch, arena, attention),
      proj_(GetAffine(store, "item_proj", /*has_bias=*/false)) {
  const int64_t dv = cfg.item().width(), dt = cfg.text().width(), e = cfg.embed_dim();
  const int64_t n = vit_.tokens_per_image() - 1;
  arena->Plan(&text_cls_, Shape{batch, dt});
  if (cfg.ground_layers() > 0) {
    ground_ = std::make_unique<Grounding>(store, cfg, batch, n, arena);
    arena->Plan(&patches_, Shape{batch, n, dv});
    arena->Plan(&d_text_cls_ground_, Shape{batch, dt});
    arena->Plan(&d_patches_, Shape{batch, n, dv});
  } else {
    arena->Plan(&guide_, Shape{batch, dv});
  }
  arena->Plan(&concat_, Shape{batch, dv + dt});
  arena->Plan(&proj_out_, Shape{batch, e});
  arena->Plan(&emb_, Shape{batch, e});
  arena->Plan(&norm_, Shape{batch});
  arena->Plan(&d_proj_, Shape{batch, e});
  arena->Plan(&d_concat_, Shape{batch, dv + dt});
  arena->Plan(&d_guide_, Shape{batch, dv});
  arena->Plan(&d_text_cls_, Shape{batch, dt});
}

Tensor ItemTower::ground_map() const { return ground_ ? ground_->ground_map() : Tensor(); }

void ItemTower::Forward(const Context& ctx, const Tensor& img, const Tensor& ids,
                        const Tensor& key_valid) {
  auto as_token = [](const Tensor& t) { return t.View(Shape{t.dim(0), 1, t.dim(1)}); };
  vit_.Forward(ctx, img);
  text_.Forward(ctx, ids, key_valid);
  ops::TokenSliceForward(ctx, as_token(text_cls_), text_.tokens(), 0);
  Tensor guide;
  if (ground_) {
    ops::TokenSliceForward(ctx, patches_, vit_.tokens(), 1);
    ground_->Forward(ctx, text_cls_, patches_);
    guide = ground_->out();
  } else {
    ops::TokenSliceForward(ctx, as_token(guide_), vit_.tokens(), 0);
    guide = guide_;
  }
  ops::ConcatColumnsForward(ctx, concat_, guide, text_cls_);
  ops::LinearForward(ctx, proj_out_, concat_, proj_.w, Tensor());
  ops::L2NormalizeForward(ctx, emb_, norm_, proj_out_);
}

void ItemTower::Backward(const Context& ctx, const Tensor& demb, const Tensor& damap,
                         const ParamReadyFn& ready) {
  auto as_token = [](const Tensor& t) { return t.View(Shape{t.dim(0), 1, t.dim(1)}); };
  ops::L2NormalizeBackward(ctx, d_proj_, demb, emb_, norm_);
  ops::LinearBackward(ctx, d_concat_, proj_.dw, Tensor(), d_proj_, concat_, proj_.w);
  store_.NotifyPrefix("item_proj.", ready);
  ops::ConcatColumnsBackward(ctx, d_guide_, d_text_cls_, d_concat_);
  ops::Zero(ctx, vit_.dtokens());
  if (ground_) {
    ground_->Backward(ctx, d_text_cls_ground_, d_patches_, d_guide_, damap, ready);
    ops::AddInPlace(ctx, d_text_cls_, d_text_cls_ground_);
    ops::TokenSliceBackward(ctx, vit_.dtokens(), d_patches_, 1);
  } else {
    ops::TokenSliceBackward(ctx, vit_.dtokens(), as_token(d_guide_), 0);
  }
  ops::Zero(ctx, text_.dtokens());
  ops::TokenSliceBackward(ctx, text_.dtokens(), as_token(d_text_cls_), 0);
  text_.Backward(ctx, ready);
  vit_.Backward(ctx, ready);
}

}  // namespace tigerfg::model
