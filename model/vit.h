// model/vit.h — the spec's ViT: patch embedding, CLS + position embedding, pre-LN blocks and the
// final LayerNorm. Also the frozen teacher's trunk (forward only, nothing saved per block).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "model/params.h"
#include "model/transformer_block.h"
#include "runtime/core/arena.h"

namespace tigerfg::model {

class ViTEncoder {
 public:
  // `trainable` false: the teacher; one set of block activations is reused by every block and
  // there is no backward. `attention`: the blocks' kernel (train.attention, resolved).
  ViTEncoder(const ParamStore& store, const std::string& prefix, const config::ViTConfig& cfg,
             int64_t batch, bool trainable, ActivationArena* arena, AttentionKernel attention);

  int64_t tokens_per_image() const { return seq_; }  // 1 + patches
  int64_t width() const { return width_; }

  // img[B, C, H, W] -> tokens() [B, 1 + P, D], the final-LayerNorm tokens (token 0 is CLS).
  void Forward(const Context& ctx, const Tensor& img);
  Tensor tokens() const { return tokens_; }

  // The caller writes the gradient of tokens() here before Backward() (the buffer is the
  // tower's; Backward consumes it).
  Tensor dtokens() const { return dtokens_; }
  void Backward(const Context& ctx, const ParamReadyFn& ready);

 private:
  ParamStore store_;
  std::string prefix_;
  int patch_;
  int64_t batch_, seq_, width_;
  bool trainable_;
  bool recompute_;  // see ActivationArena::set_recompute_blocks
  const BlockActs& Acts(size_t block) const { return acts_.size() == 1 ? acts_[0] : acts_[block]; }
  AffineRef patch_embed_, ln_final_;
  Tensor cls_, pos_, dcls_, dpos_;
  std::vector<std::unique_ptr<TransformerBlock>> blocks_;
  std::vector<BlockActs> acts_;  // one per block (one shared when frozen or recomputing)
  BlockScratch scratch_;
  Tensor cols_;                 // [B, P, C·p·p]
  Tensor patches_;              // [B, P, D]
  std::vector<Tensor> stream_;  // depth + 1 residual-stream tensors [B·S, D] (2 when frozen)
  Tensor tokens_, ln_mean_, ln_rstd_;
  Tensor dtokens_, dstream_, dpatches_;
};

}  // namespace tigerfg::model
