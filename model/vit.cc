// model/vit.cc — the ViT trunk forward and backward.
#include "model/vit.h"

#include "ops/layernorm.h"
#include "ops/patch_embed.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

namespace {
constexpr float kLnEps = 1e-6f;
}

ViTEncoder::ViTEncoder(const ParamStore& store, const std::string& prefix,
                       const config::ViTConfig& cfg, int64_t batch, bool trainable,
                       ActivationArena* arena, AttentionKernel attention)
    : store_(store),
      prefix_(prefix),
      patch_(cfg.patch_size()),
      batch_(batch),
      width_(cfg.width()),
      trainable_(trainable),
      recompute_(trainable && arena->recompute_blocks()) {
  const int64_t grid = cfg.image_size() / cfg.patch_size();
  const int64_t num_patches = grid * grid;
  seq_ = num_patches + 1;
  const int64_t d = width_;
  patch_embed_ = GetAffine(store, prefix + "patch_embed");
  ln_final_ = GetAffine(store, prefix + "ln_final");
  cls_ = store.P(prefix + "cls_token").View(Shape{d});
  pos_ = store.P(prefix + "pos_embed").View(Shape{seq_, d});
  if (trainable) {
    dcls_ = store.G(prefix + "cls_token").View(Shape{d});
    dpos_ = store.G(prefix + "pos_embed").View(Shape{seq_, d});
  }
  for (int i = 0; i < cfg.depth(); ++i) {
    blocks_.push_back(std::make_unique<TransformerBlock>(
        store, prefix + "blocks." + std::to_string(i) + ".", cfg.heads(), attention));
  }
  acts_.resize(trainable && !recompute_ ? cfg.depth() : 1);
  const DType act = store.activation_dtype();
  for (BlockActs& a : acts_) {
    a.Plan(arena, batch, seq_, d, cfg.heads(), cfg.mlp_ratio(), act, attention);
  }
  scratch_.Plan(arena, batch, seq_, d, cfg.heads(), cfg.mlp_ratio(), act, attention);
  const int64_t patch_dim = int64_t{cfg.channels()} * cfg.patch_size() * cfg.patch_size();
  arena->Plan(&cols_, Shape{batch, num_patches, patch_dim});
  arena->Plan(&patches_, Shape{batch, num_patches, d});
  stream_.resize(trainable ? cfg.depth() + 1 : 1);
  for (Tensor& x : stream_) arena->Plan(&x, Shape{batch * seq_, d});
  arena->Plan(&tokens_, Shape{batch, seq_, d});
  arena->Plan(&ln_mean_, Shape{batch * seq_});
  arena->Plan(&ln_rstd_, Shape{batch * seq_});
  if (trainable) {
    arena->Plan(&dtokens_, Shape{batch, seq_, d});
    arena->Plan(&dstream_, Shape{batch * seq_, d});
    arena->Plan(&dpatches_, Shape{batch, num_patches, d});
  }
}

void ViTEncoder::Forward(const Context& ctx, const Tensor& img) {
  const int64_t d = width_;
  ops::PatchEmbedForward(ctx, patches_, cols_, img, patch_embed_.w, patch_embed_.b, patch_);
  ops::TokenPrependForward(ctx, stream_[0].View(Shape{batch_, seq_, d}), patches_, cls_, pos_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    // The frozen trunk updates one stream in place: nothing is kept for a backward.
    const Tensor& x_in = trainable_ ? stream_[i] : stream_[0];
    const Tensor& x_out = trainable_ ? stream_[i + 1] : stream_[0];
    blocks_[i]->Forward(ctx, x_out, x_in, Tensor(), Acts(i), scratch_);
  }
  ops::LayerNormForward(ctx, tokens_.View(Shape{batch_ * seq_, d}), ln_mean_, ln_rstd_,
                        stream_.back(), ln_final_.w, ln_final_.b, kLnEps);
}

void ViTEncoder::Backward(const Context& ctx, const ParamReadyFn& ready) {
  CHECK(trainable_) << prefix_ << " is frozen: it has no backward";
  const int64_t d = width_;
  ops::LayerNormBackward(ctx, dstream_, ln_final_.dw, ln_final_.db,
                         dtokens_.View(Shape{batch_ * seq_, d}), stream_.back(), ln_final_.w,
                         ln_mean_, ln_rstd_);
  store_.NotifyPrefix(prefix_ + "ln_final.", ready);
  for (int i = static_cast<int>(blocks_.size()) - 1; i >= 0; --i) {
    // Recomputation rewrites stream_[i + 1] with the values it already holds.
    if (recompute_)
      blocks_[i]->Forward(ctx, stream_[i + 1], stream_[i], Tensor(), Acts(i), scratch_);
    blocks_[i]->Backward(ctx, dstream_, stream_[i], Tensor(), Acts(i), scratch_);
    store_.NotifyPrefix(prefix_ + "blocks." + std::to_string(i) + ".", ready);
  }
  ops::TokenPrependBackward(ctx, dpatches_, dcls_, dpos_, dstream_.View(Shape{batch_, seq_, d}));
  ops::PatchEmbedBackward(ctx, patch_embed_.dw, patch_embed_.db, dpatches_, cols_);
  store_.NotifyPrefix(prefix_ + "cls_token", ready);
  store_.NotifyPrefix(prefix_ + "pos_embed", ready);
  store_.NotifyPrefix(prefix_ + "patch_embed.", ready);
}

}  // namespace tigerfg::model
