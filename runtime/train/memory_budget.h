// runtime/train/memory_budget.h — what one training step of a model needs on its device at a given
// local batch and micro batch, and the largest batch that fits a memory budget (`tigerfg bench
// --memory_gb`), with and without chunked steps (train.micro_batch).
#pragma once

#include <cstdint>

#include "model/tigerfg_model.h"

namespace tigerfg::train {

// The device bytes of one rank's step, each part as the code allocates it: fp32 parameters,
// gradients and the two AdamW moments (plus the bf16 mirror in BF16), the activation arena the
// model plans (TigerFGModel::PlannedActivationBytes), and the step runner's gathered-batch and
// embedding-gradient buffers (StepRunner::BufferBytes). Not counted: library workspaces
// (cuBLAS), allocator slack, the input batch on the host, the data loader.
struct StepMemory {
  int64_t state_bytes = 0, activation_bytes = 0, runner_bytes = 0;
  int64_t total() const { return state_bytes + activation_bytes + runner_bytes; }
};
// micro_batch: 0 = unchunked; otherwise it must divide local_batch.
StepMemory StepMemoryBytes(const model::TigerFGModel& model, int64_t local_batch, int world_size,
                           int64_t micro_batch);

// The largest local batch (a multiple of micro_batch; any batch when micro_batch is 0) whose step
// fits in budget_bytes at world_size ranks; 0 when none does. The search stops at max_batch.
int64_t LargestBatchThatFits(const model::TigerFGModel& model, double budget_bytes, int world_size,
                             int64_t micro_batch, int64_t max_batch = 1 << 24);

}  // namespace tigerfg::train
