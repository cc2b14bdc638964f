// model/text_encoder.h — the spec's TextEncoder: token + position embedding, pre-LN blocks with a
// key-padding mask (ids != 0), final LayerNorm.
#pragma once

#include <memory>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "model/params.h"
#include "model/transformer_block.h"
#include "runtime/core/arena.h"

namespace tigerfg::model {

class TextEncoder {
 public:
  // Titles are planned at the full max_len (the data pipeline pads every title to it).
  // `attention`: the blocks' kernel (train.attention, resolved).
  TextEncoder(const ParamStore& store, const config::TextConfig& cfg, int64_t batch,
              ActivationArena* arena, AttentionKernel attention);

  int64_t seq() const { return seq_; }
  int64_t width() const { return width_; }

  // ids[B, L] I64 and key_valid[B, L] U8 (ids != 0) must stay valid until Backward().
  // -> tokens() [B, L, D] after the final LayerNorm.
  void Forward(const Context& ctx, const Tensor& ids, const Tensor& key_valid);
  Tensor tokens() const { return tokens_; }

  // The caller writes the gradient of tokens() here before Backward().
  Tensor dtokens() const { return dtokens_; }
  void Backward(const Context& ctx, const ParamReadyFn& ready);

 private:
  ParamStore store_;
  int64_t batch_, seq_, width_;
  Tensor token_embed_, dtoken_embed_, pos_, dpos_;
  AffineRef ln_final_;
  std::vector<std::unique_ptr<TransformerBlock>> blocks_;
  bool recompute_;               // see ActivationArena::set_recompute_blocks
  std::vector<BlockActs> acts_;  // one per block, or one shared when recomputing
  const BlockActs& Acts(size_t block) const { return acts_.size() == 1 ? acts_[0] : acts_[block]; }
  BlockScratch scratch_;
  std::vector<Tensor> stream_;  // depth + 1 tensors [B·L, D]
  Tensor tokens_, ln_mean_, ln_rstd_, dtokens_, dstream_;
  Tensor ids_, key_valid_;
};

}  // namespace tigerfg::model
