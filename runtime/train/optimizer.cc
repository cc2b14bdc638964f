// runtime/train/optimizer.cc — AdamW with clipping and the learning-rate schedule.
#include "runtime/train/optimizer.h"

#include <cmath>

#include "ops/optim.h"
#include "runtime/train/lr_schedule.h"

namespace tigerfg::train {

AdamW::AdamW(const ParamTable& table, const config::OptimConfig& optim, int64_t total_steps,
             const Context& ctx)
    : optim_(optim),
      total_steps_(total_steps),
      numel_(table.trainable_numel()),
      device_(ctx.device()),
      m_(ctx, DType::kF32, Shape{table.trainable_numel()}),
      v_(ctx, DType::kF32, Shape{table.trainable_numel()}) {
  // Runs merge only back-to-back tensors: the table's alignment gaps are never updated (they stay
  // zero; ParamTable).
  for (const ParamSpec& p : table.params()) {
    if (!p.trainable) break;
    if (!runs_.empty() && runs_.back().decay == p.decay && runs_.back().end == p.offset)
      runs_.back().end = p.offset + p.numel();
    else
      runs_.push_back({p.offset, p.offset + p.numel(), p.decay});
  }
}

OptimStepInfo AdamW::Step(const Context& ctx, float* params, float* grads, int64_t step) {
  CHECK(ctx.device() == device_) << "AdamW::Step on another device than its moments";
  OptimStepInfo info;
  info.lr = LearningRate(optim_, step, total_steps_);
  Tensor all_grads = Tensor::F32(grads, Shape{numel_}, ctx.device());
  info.grad_norm = std::sqrt(ops::SumOfSquares(ctx, all_grads));
  ops::AdamWHyper h;
  h.lr = static_cast<float>(info.lr);
  h.beta1 = optim_.beta1();
  h.beta2 = optim_.beta2();
  h.eps = optim_.eps();
  h.step = step + 1;
  const double clip = optim_.clip_grad_norm();
  if (clip > 0 && info.grad_norm > clip) {
    // torch.nn.utils.clip_grad_norm_'s factor
    h.grad_scale = static_cast<float>(clip / (info.grad_norm + 1e-6));
    info.clipped = true;
  }
  for (const Run& r : runs_) {
    h.weight_decay = r.decay ? optim_.weight_decay() : 0.0f;
    const Shape len{r.end - r.begin};
    ops::AdamWUpdate(ctx, Tensor::F32(params + r.begin, len, ctx.device()),
                     m_.tensor().Slice(r.begin, r.end), v_.tensor().Slice(r.begin, r.end),
                     Tensor::F32(grads + r.begin, len, ctx.device()), h);
  }
  return info;
}

}  // namespace tigerfg::train
