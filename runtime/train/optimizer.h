// runtime/train/optimizer.h — AdamW over the flat buffers: decoupled weight decay on the
// parameters the table marks `decay` (matrices), global-norm clipping, warmup + cosine schedule.
#pragma once

#include <cstdint>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/buffer.h"
#include "runtime/core/context.h"
#include "runtime/core/param_table.h"
#include "runtime/core/tensor.h"

namespace tigerfg::train {

struct OptimStepInfo {
  double lr = 0;
  double grad_norm = 0;  // before clipping
  bool clipped = false;
};

class AdamW {
 public:
  // The moments live on ctx's device (device memory for a CUDA context).
  AdamW(const ParamTable& table, const config::OptimConfig& optim, int64_t total_steps,
        const Context& ctx = Context::Cpu());

  // Updates the trainable prefix of `params` from `grads` (already averaged over ranks) in one
  // launch (ops::AdamWMultiUpdate); the clip factor is derived on the device from the device-side
  // gradient norm, which is read back only afterwards, for OptimStepInfo. `step` is 0-based; the
  // moments' bias correction uses step + 1. ctx must be on the device the optimizer was built for;
  // params and grads are on that device. params16 (BF16, the whole parameter buffer, or empty)
  // also receives bf16 of the updated trainable parameters.
  OptimStepInfo Step(const Context& ctx, float* params, float* grads, int64_t step,
                     Tensor params16 = Tensor());

  // Step's update without the host read: returns the learning rate and leaves Σ grads² in
  // grad_sumsq() (until the next launch); Info turns that sum, read later, into the step's
  // OptimStepInfo. skip: F32 [1] on the device, or null: a nonzero value makes the update a no-op
  // (ops::AdamWHyper::skip), as do gradients that are not finite.
  double Launch(const Context& ctx, float* params, float* grads, int64_t step,
                Tensor params16 = Tensor(), const float* skip = nullptr);
  Tensor grad_sumsq() const { return grad_sumsq_.tensor(); }
  OptimStepInfo Info(double lr, double grad_sumsq) const;

  // The moment buffers [trainable_numel] (for checkpoints), on the optimizer's device.
  Tensor m() const { return m_.tensor(); }
  Tensor v() const { return v_.tensor(); }

 private:
  config::OptimConfig optim_;
  int64_t total_steps_;
  int64_t numel_;
  Device device_;
  Buffer m_, v_;
  Buffer table_;       // ops::MakeAdamWTable of the trainable tensors, on the device
  Buffer grad_sumsq_;  // [1] Σ grads², on the device (ops::SumOfSquaresInto)
};

}  // namespace tigerfg::train
