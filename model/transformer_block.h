// model/transformer_block.h — one pre-LayerNorm transformer block (the spec's Block), forward and
// backward, with an optional key-padding mask (the text encoder's).
#pragma once

#include <string>

#include "model/arena.h"
#include "model/params.h"
#include "runtime/context.h"

namespace tigerfg::model {

// What one block's forward saves for its backward, for B sequences of S tokens of width D.
struct BlockActs {
  Tensor ln1_out, ln1_mean, ln1_rstd;  // [B·S, D], [B·S], [B·S]
  Tensor qkv;                          // [B·S, 3D]
  Tensor probs;                        // [B, heads, S, S]
  Tensor attn_out;                     // [B·S, D]
  Tensor mid;                          // [B·S, D] the residual stream after attention
  Tensor ln2_out, ln2_mean, ln2_rstd;  // [B·S, D], [B·S], [B·S]
  Tensor fc1_out, gelu_out;            // [B·S, ratio·D]
  void Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int heads, int ratio);
};

// Scratch shared by all blocks of one tower: the forward's branch output and the backward's
// activation gradients, none of which outlives one block's call.
struct BlockScratch {
  Tensor branch;    // [B·S, D]
  Tensor d_a, d_b;  // [B·S, D]
  Tensor d_qkv;     // [B·S, 3D]
  Tensor d_hidden;  // [B·S, ratio·D]
  void Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int ratio);
};

class TransformerBlock {
 public:
  TransformerBlock(const ParamStore& store, const std::string& prefix, int heads);

  // x_out[B·S, D] = block(x_in); key_valid[B, S] U8 may be empty. x_out may alias x_in when the
  // caller does not run the backward (the frozen teacher).
  void Forward(const Context& ctx, Tensor x_out, const Tensor& x_in, const Tensor& key_valid,
               const BlockActs& acts, const BlockScratch& scratch) const;
  // dx[B·S, D]: on entry the gradient of the block's output, on return that of its input (the
  // residual stream is updated in place). Parameter gradients accumulate.
  void Backward(const Context& ctx, Tensor dx, const Tensor& x_in, const BlockActs& acts,
                const BlockScratch& scratch) const;

 private:
  int heads_;
  AffineRef ln1_, qkv_, proj_, ln2_, fc1_, fc2_;
};

}  // namespace tigerfg::model
