// model/grounding.h — text-guided grounding (the spec's ground.*): a guide token made from the
// title's CLS attends over the item's patch tokens through `ground_layers` pre-LN cross-attention
// layers; the last layer's head-mean attention map is what SRD distils.
#pragma once

#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "model/params.h"
#include "runtime/core/arena.h"

namespace tigerfg::model {

class Grounding {
 public:
  Grounding(const ParamStore& store, const config::ModelConfig& cfg, int64_t batch,
            int64_t num_patches, ActivationArena* arena);

  // text_cls[B, Dt], patches[B, N, Dv] (kept valid until Backward) -> out() [B, Dv] after ln_out
  // and ground_map() [B, N], the last layer's head-mean attention.
  void Forward(const Context& ctx, const Tensor& text_cls, const Tensor& patches);
  Tensor out() const { return out_; }
  Tensor ground_map() const { return amap_; }

  // dout[B, Dv] -> dtext_cls[B, Dt] and dpatches[B, N, Dv], both written (=). damap[B, N] (may be
  // empty) is the SRD gradient of ground_map().
  void Backward(const Context& ctx, Tensor dtext_cls, Tensor dpatches, const Tensor& dout,
                const Tensor& damap, const ParamReadyFn& ready);

 private:
  struct Layer {
    std::string prefix;
    AffineRef ln_q, ln_kv, q, kv, proj, ln_m, fc1, fc2;
    Tensor lnq_out, lnq_mean, lnq_rstd;     // [B, Dv], [B], [B]
    Tensor q_out;                           // [B, Dv]
    Tensor lnkv_out, lnkv_mean, lnkv_rstd;  // [B·N, Dv], [B·N], [B·N]
    Tensor kv_out;                          // [B·N, 2Dv]
    Tensor probs;                           // [B, heads, N]
    Tensor attn_out, mid;                   // [B, Dv]
    Tensor lnm_out, lnm_mean, lnm_rstd;     // [B, Dv], [B], [B]
    Tensor fc1_out, gelu_out;               // [B, 4Dv]
  };

  ParamStore store_;
  int heads_;
  int64_t batch_, num_patches_, width_;
  AffineRef text_proj_, ln_out_;
  std::vector<Layer> layers_;
  std::vector<Tensor> guide_;  // layers + 1 guide tokens [B, Dv]
  Tensor out_, out_mean_, out_rstd_, amap_;
  Tensor text_cls_, patches_;
  // backward scratch
  Tensor d_guide_, d_a_, d_b_, d_q_, d_hidden_, d_kv_, d_lnkv_, d_patch_ln_, d_probs_;
};

}  // namespace tigerfg::model
