// model/text_encoder.cc — the title tower forward and backward.
#include "model/text_encoder.h"

#include "ops/embedding.h"
#include "ops/layernorm.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

namespace {
constexpr float kLnEps = 1e-6f;
}

TextEncoder::TextEncoder(const ParamStore& store, const config::TextConfig& cfg, int64_t batch,
                         ActivationArena* arena, AttentionKernel attention)
    : store_(store),
      batch_(batch),
      seq_(cfg.max_len()),
      width_(cfg.width()),
      recompute_(arena->recompute_blocks()) {
  const int64_t d = width_;
  token_embed_ = store.P("text.token_embed.weight");
  dtoken_embed_ = store.G("text.token_embed.weight");
  pos_ = store.P("text.pos_embed").View(Shape{seq_, d});
  dpos_ = store.G("text.pos_embed").View(Shape{seq_, d});
  ln_final_ = GetAffine(store, "text.ln_final");
  for (int i = 0; i < cfg.depth(); ++i) {
    blocks_.push_back(std::make_unique<TransformerBlock>(
        store, "text.blocks." + std::to_string(i) + ".", cfg.heads(), attention));
  }
  acts_.resize(recompute_ ? 1 : cfg.depth());
  const DType act = store.activation_dtype();
  for (BlockActs& a : acts_) {
    a.Plan(arena, batch, seq_, d, cfg.heads(), cfg.mlp_ratio(), act, attention);
  }
  scratch_.Plan(arena, batch, seq_, d, cfg.heads(), cfg.mlp_ratio(), act, attention);
  stream_.resize(cfg.depth() + 1);
  for (Tensor& x : stream_) arena->Plan(&x, Shape{batch * seq_, d});
  arena->Plan(&tokens_, Shape{batch, seq_, d});
  arena->Plan(&ln_mean_, Shape{batch * seq_});
  arena->Plan(&ln_rstd_, Shape{batch * seq_});
  arena->Plan(&dtokens_, Shape{batch, seq_, d});
  arena->Plan(&dstream_, Shape{batch * seq_, d});
}

void TextEncoder::Forward(const Context& ctx, const Tensor& ids, const Tensor& key_valid) {
  CHECK(ids.shape() == Shape({batch_, seq_})) << "title ids " << ids.shape().ToString();
  ids_ = ids;
  key_valid_ = key_valid;
  const int64_t d = width_;
  Tensor x0 = stream_[0].View(Shape{batch_, seq_, d});
  ops::EmbeddingForward(ctx, x0, ids, token_embed_);
  ops::AddPositionForward(ctx, x0, pos_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    blocks_[i]->Forward(ctx, stream_[i + 1], stream_[i], key_valid, Acts(i), scratch_);
  }
  ops::LayerNormForward(ctx, tokens_.View(Shape{batch_ * seq_, d}), ln_mean_, ln_rstd_,
                        stream_.back(), ln_final_.w, ln_final_.b, kLnEps);
}

void TextEncoder::Backward(const Context& ctx, const ParamReadyFn& ready) {
  const int64_t d = width_;
  ops::LayerNormBackward(ctx, dstream_, ln_final_.dw, ln_final_.db,
                         dtokens_.View(Shape{batch_ * seq_, d}), stream_.back(), ln_final_.w,
                         ln_mean_, ln_rstd_);
  store_.NotifyPrefix("text.ln_final.", ready);
  for (int i = static_cast<int>(blocks_.size()) - 1; i >= 0; --i) {
    if (recompute_) {
      blocks_[i]->Forward(ctx, stream_[i + 1], stream_[i], key_valid_, Acts(i), scratch_);
    }
    blocks_[i]->Backward(ctx, dstream_, stream_[i], key_valid_, Acts(i), scratch_);
    store_.NotifyPrefix("text.blocks." + std::to_string(i) + ".", ready);
  }
  Tensor dx0 = dstream_.View(Shape{batch_, seq_, d});
  ops::AddPositionBackward(ctx, dpos_, dx0);
  ops::EmbeddingBackward(ctx, dtoken_embed_, dx0, ids_);
  store_.NotifyPrefix("text.pos_embed", ready);
  store_.NotifyPrefix("text.token_embed.", ready);
}

}  // namespace tigerfg::model
