// model/teacher.h — the frozen teacher ViT ("teacher.*"): normalised CLS of the query crop and of
// the item image, and the normalised item patch tokens. Forward only; no gradients.
#pragma once

#include "configs/tigerfg.pb.h"
#include "model/vit.h"

namespace tigerfg::model {

class Teacher {
 public:
  Teacher(const ParamStore& store, const config::ViTConfig& cfg, int64_t batch,
          ActivationArena* arena, AttentionKernel attention);
  void Forward(const Context& ctx, const Tensor& query_img, const Tensor& item_img);
  Tensor query_cls() const { return query_cls_; }  // [B, Et]
  Tensor item_cls() const { return item_cls_; }    // [B, Et]
  Tensor patches() const { return patches_; }      // [B, N, Et]
  int64_t width() const { return vit_.width(); }

 private:
  ViTEncoder vit_;
  Tensor raw_cls_, raw_patches_;  // [B, Et], [B, N, Et] before normalising
  Tensor query_cls_, item_cls_, patches_;
  Tensor query_norm_, item_norm_, patch_norm_;  // [B], [B], [B·N]: unused by a backward
};

}  // namespace tigerfg::model
