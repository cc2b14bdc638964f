// model/towers.h — the two student towers: query (ViT CLS -> query_proj -> L2) and item (item
// ViT + title encoder + grounding or the item CLS -> item_proj -> L2).
#pragma once

#include <memory>

#include "configs/tigerfg.pb.h"
#include "model/grounding.h"
#include "model/text_encoder.h"
#include "model/vit.h"

namespace tigerfg::model {

class QueryTower {
 public:
  // `attention`: the transformer blocks' kernel (train.attention, resolved).
  QueryTower(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
             ActivationArena* arena, AttentionKernel attention);
  // img[B, C, H, W] -> emb() [B, E], L2-normalised.
  void Forward(const Context& ctx, const Tensor& img);
  Tensor emb() const { return emb_; }
  // demb[B, E] -> parameter gradients (+=).
  void Backward(const Context& ctx, const Tensor& demb, const ParamReadyFn& ready);

 private:
  ParamStore store_;
  ViTEncoder vit_;
  AffineRef proj_;
  Tensor cls_, proj_out_, emb_, norm_;  // [B, D], [B, E], [B, E], [B]
  Tensor d_proj_, d_cls_;               // [B, E], [B, D]
};

class ItemTower {
 public:
  ItemTower(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
            ActivationArena* arena, AttentionKernel attention);
  // img[B, C, H, W], ids and key_valid [B, L] -> emb() [B, E], L2-normalised.
  void Forward(const Context& ctx, const Tensor& img, const Tensor& ids, const Tensor& key_valid);
  Tensor emb() const { return emb_; }
  Tensor ground_map() const;  // [B, N]; empty with ground_layers = 0
  // demb[B, E]; damap[B, N] (may be empty) is the SRD gradient of ground_map().
  void Backward(const Context& ctx, const Tensor& demb, const Tensor& damap,
                const ParamReadyFn& ready);

 private:
  ParamStore store_;
  int64_t batch_;
  ViTEncoder vit_;
  TextEncoder text_;
  std::unique_ptr<Grounding> ground_;  // null for the ground_layers = 0 baseline
  AffineRef proj_;
  Tensor text_cls_;                        // [B, Dt]
  Tensor patches_;                         // [B, N, Dv] (grounding)
  Tensor guide_;                           // [B, Dv] the item CLS (baseline)
  Tensor concat_, proj_out_, emb_, norm_;  // [B, Dv + Dt], [B, E], [B, E], [B]
  Tensor d_proj_, d_concat_, d_guide_, d_text_cls_, d_text_cls_ground_, d_patches_;
};

}  // namespace tigerfg::model
