// model/teacher.cc — the teacher's two forward passes share one trunk's activations.
#include "model/teacher.h"

#include "ops/normalize.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

Teacher::Teacher(const ParamStore& store, const config::ViTConfig& cfg, int64_t batch,
                 ActivationArena* arena, AttentionKernel attention)
    : vit_(store, "teacher.", cfg, batch, /*trainable=*/false, arena, attention) {
  const int64_t d = cfg.width(), n = vit_.tokens_per_image() - 1;
  arena->Plan(&raw_cls_, Shape{batch, 1, d});
  arena->Plan(&raw_patches_, Shape{batch, n, d});
  arena->Plan(&query_cls_, Shape{batch, d});
  arena->Plan(&item_cls_, Shape{batch, d});
  arena->Plan(&patches_, Shape{batch, n, d});
  arena->Plan(&query_norm_, Shape{batch});
  arena->Plan(&item_norm_, Shape{batch});
  arena->Plan(&patch_norm_, Shape{batch * n});
}

void Teacher::Forward(const Context& ctx, const Tensor& query_img, const Tensor& item_img) {
  const int64_t b = raw_cls_.dim(0), d = raw_cls_.dim(2), n = raw_patches_.dim(1);
  vit_.Forward(ctx, query_img);
  ops::TokenSliceForward(ctx, raw_cls_, vit_.tokens(), 0);
  ops::L2NormalizeForward(ctx, query_cls_, query_norm_, raw_cls_.View(Shape{b, d}));
  vit_.Forward(ctx, item_img);
  ops::TokenSliceForward(ctx, raw_cls_, vit_.tokens(), 0);
  ops::L2NormalizeForward(ctx, item_cls_, item_norm_, raw_cls_.View(Shape{b, d}));
  ops::TokenSliceForward(ctx, raw_patches_, vit_.tokens(), 1);
  ops::L2NormalizeForward(ctx, patches_.View(Shape{b * n, d}), patch_norm_,
                          raw_patches_.View(Shape{b * n, d}));
}

}  // namespace tigerfg::model
