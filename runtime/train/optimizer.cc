// runtime/train/optimizer.cc — AdamW with clipping and the learning-rate schedule.
#include "runtime/train/optimizer.h"

#include <cmath>

#include "ops/optim.h"
#include "runtime/core/buffer.h"
#include "runtime/train/lr_schedule.h"

namespace tigerfg::train {

AdamW::AdamW(const ParamTable& table, const config::OptimConfig& optim, int64_t total_steps,
             const Context& ctx)
    : optim_(optim),
      total_steps_(total_steps),
      numel_(table.trainable_numel()),
      device_(ctx.device()),
      m_(ctx, DType::kF32, Shape{table.trainable_numel()}),
      v_(ctx, DType::kF32, Shape{table.trainable_numel()}),
      grad_sumsq_(ctx, DType::kI64, Shape{1}) {
  // One row per trainable tensor: the table's alignment gaps are never updated (they stay zero;
  // ParamTable), nor is the frozen suffix.
  std::vector<ops::AdamWTensor> tensors;
  for (const ParamSpec& p : table.params()) {
    if (!p.trainable) break;
    tensors.push_back({p.offset, p.numel(), p.decay});
  }
  table_ = ToDevice(ctx, ops::MakeAdamWTable(tensors).tensor());
}

OptimStepInfo AdamW::Step(const Context& ctx, float* params, float* grads, int64_t step,
                          Tensor params16) {
  const double lr = Launch(ctx, params, grads, step, params16);
  // For the log only: the update above does not wait for this read.
  return Info(lr, ops::SumOfSquaresValue(ctx, grad_sumsq_));
}

double AdamW::Launch(const Context& ctx, float* params, float* grads, int64_t step, Tensor params16,
                     const float* skip) {
  CHECK(ctx.device() == device_) << "AdamW::Step on another device than its moments";
  const double lr = LearningRate(optim_, step, total_steps_);
  const Shape all{numel_};
  Tensor all_grads = Tensor::F32(grads, all, ctx.device());
  ops::SumOfSquaresInto(ctx, grad_sumsq_, all_grads);
  ops::AdamWHyper h;
  h.lr = static_cast<float>(lr);
  h.beta1 = optim_.beta1();
  h.beta2 = optim_.beta2();
  h.eps = optim_.eps();
  h.step = step + 1;
  h.weight_decay = optim_.weight_decay();  // on the tensors the table marks decay
  h.clip_grad_norm = optim_.clip_grad_norm();
  h.skip = skip;
  if (params16.defined()) params16 = params16.Slice(0, numel_);
  ops::AdamWMultiUpdate(ctx, Tensor::F32(params, all, ctx.device()), m_, v_, params16, all_grads,
                        table_, grad_sumsq_, h);
  return lr;
}

OptimStepInfo AdamW::Info(double lr, double grad_sumsq) const {
  OptimStepInfo info;
  info.lr = lr;
  info.grad_norm = std::sqrt(grad_sumsq);
  const double clip = optim_.clip_grad_norm();
  info.clipped = clip > 0 && info.grad_norm > clip;
  return info;
}

}  // namespace tigerfg::train
