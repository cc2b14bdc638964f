// model/transformer_block.h — one pre-LayerNorm transformer block (the spec's Block), forward and
// backward, with an optional key-padding mask (the text encoder's). In the BF16 precision mode the
// block is a bf16 island: the residual stream in and out stays fp32, the LayerNorm outputs, the
// attention and MLP activations and their gradients are bf16, attention is the fused kernel. The
// attention kernel is the run's (train.attention, resolved): fused or unfused in FP32.
#pragma once

#include <string>

#include "model/attention_kernel.h"
#include "model/params.h"
#include "runtime/core/arena.h"
#include "runtime/core/context.h"

namespace tigerfg::model {

// What one block's forward saves for its backward, for B sequences of S tokens of width D.
// `act` (F32 or BF16) is the dtype of the tensors marked (act); the others are F32.
struct BlockActs {
  Tensor ln1_out, ln1_mean, ln1_rstd;  // [B·S, D] (act), [B·S], [B·S]
  Tensor qkv;                          // [B·S, 3D] (act)
  Tensor probs;                        // [B, heads, S, S], the unfused attention only
  Tensor lse;                          // [B, heads, S], the fused attention only
  Tensor attn_out;                     // [B·S, D] (act)
  Tensor mid;                          // [B·S, D] the residual stream after attention
  Tensor ln2_out, ln2_mean, ln2_rstd;  // [B·S, D] (act), [B·S], [B·S]
  Tensor fc1_out, gelu_out;            // [B·S, ratio·D] (act)
  void Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int heads, int ratio,
            DType act, AttentionKernel attention);
};

// Scratch shared by all blocks of one tower: the backward's activation gradients, none of which
// outlives one block's call.
struct BlockScratch {
  Tensor d_a;         // [B·S, D] (act)
  Tensor d_qkv;       // [B·S, 3D] (act)
  Tensor d_hidden;    // [B·S, ratio·D] (act)
  Tensor d_stream16;  // [B·S, D] BF16 mode: the residual gradient as a GEMM input
  Tensor attn_ws;     // the fused attention backward's fp32 workspace
  void Plan(ActivationArena* arena, int64_t batch, int64_t seq, int64_t dim, int heads, int ratio,
            DType act, AttentionKernel attention);
};

class TransformerBlock {
 public:
  // The block runs in BF16 mode when the store has a BF16 mirror (ParamStore::P16); BF16 mode
  // takes only the fused attention.
  TransformerBlock(const ParamStore& store, const std::string& prefix, int heads,
                   AttentionKernel attention);

  // x_out[B·S, D] = block(x_in); key_valid[B, S] U8 may be empty. x_out may alias x_in when the
  // caller does not run the backward (the frozen teacher).
  void Forward(const Context& ctx, Tensor x_out, const Tensor& x_in, const Tensor& key_valid,
               const BlockActs& acts, const BlockScratch& scratch) const;
  // dx[B·S, D]: on entry the gradient of the block's output, on return that of its input (the
  // residual stream is updated in place). Parameter gradients accumulate. key_valid as in
  // Forward (the fused attention's backward re-applies the mask).
  void Backward(const Context& ctx, Tensor dx, const Tensor& x_in, const Tensor& key_valid,
                const BlockActs& acts, const BlockScratch& scratch) const;

 private:
  // The weight a GEMM reads: the BF16 mirror in BF16 mode.
  const Tensor& GemmWeight(const AffineRef& a) const { return bf16_ ? a.w16 : a.w; }

  int heads_;
  bool bf16_;
  bool flash_;  // the kernel saves the log-sum-exp: kFlash or kCudnn (SavesLse)
  bool cudnn_;  // AttentionKernel::kCudnn
  std::string nvtx_forward_, nvtx_backward_;  // NVTX range names, built once
  AffineRef ln1_, qkv_, proj_, ln2_, fc1_, fc2_;
};

}  // namespace tigerfg::model
