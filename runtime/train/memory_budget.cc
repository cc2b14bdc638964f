// runtime/train/memory_budget.cc — a step's device memory from the sizes the model and the step
// runner plan, and a search for the largest batch under a budget (memory grows with the batch).
#include "runtime/train/memory_budget.h"

#include <glog/logging.h>

#include "runtime/train/step_runner.h"

namespace tigerfg::train {

StepMemory StepMemoryBytes(const model::TigerFGModel& model, int64_t local_batch, int world_size,
                           int64_t micro_batch) {
  const ParamTable& table = model.table();
  StepMemory mem;
  // Parameters and gradients (fp32), AdamW's m and v (fp32), the bf16 mirror of all parameters.
  mem.state_bytes = 4 * table.total_numel() + 12 * table.trainable_numel();
  if (model.precision() == config::BF16) mem.state_bytes += 2 * table.total_numel();
  mem.activation_bytes = model.PlannedActivationBytes(local_batch, world_size, micro_batch);
  const bool chunked = micro_batch > 0 && micro_batch != local_batch;
  mem.runner_bytes = StepRunner::BufferBytes(local_batch, world_size, model.embed_dim(),
                                             model.teacher_dim(), world_size > 1, chunked);
  return mem;
}

int64_t LargestBatchThatFits(const model::TigerFGModel& model, double budget_bytes, int world_size,
                             int64_t micro_batch, int64_t max_batch) {
  CHECK(micro_batch >= 0 && world_size > 0);
  // Batches are k · step: k chunks of micro_batch samples, or k samples.
  const int64_t step = micro_batch > 0 ? micro_batch : 1;
  auto fits = [&](int64_t k) {
    const int64_t batch = k * step;
    return static_cast<double>(StepMemoryBytes(model, batch, world_size, micro_batch).total()) <=
           budget_bytes;
  };
  const int64_t max_k = max_batch / step;
  if (max_k < 1 || !fits(1)) return 0;
  // Double until it does not fit, then bisect: fits(lo), !fits(hi).
  int64_t lo = 1, hi = 2;
  while (hi <= max_k && fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  if (hi > max_k) {
    if (fits(max_k)) return max_k * step;
    hi = max_k;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo * step;
}

}  // namespace tigerfg::train
