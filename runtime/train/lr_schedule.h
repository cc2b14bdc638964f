// runtime/train/lr_schedule.h — learning rate by step: linear warmup, then cosine decay.
#pragma once

#include <cstdint>

#include "configs/tigerfg.pb.h"

namespace tigerfg::train {

// step is 0-based. Warmup: lr·(step+1)/warmup for step < warmup. Then cosine from lr down to
// lr·min_lr_ratio at the last step (total_steps - 1).
double LearningRate(const config::OptimConfig& optim, int64_t step, int64_t total_steps);

}  // namespace tigerfg::train
