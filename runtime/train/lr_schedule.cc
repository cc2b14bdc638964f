// runtime/train/lr_schedule.cc — warmup + cosine learning rate.
#include "runtime/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace tigerfg::train {

double LearningRate(const config::OptimConfig& optim, int64_t step, int64_t total_steps) {
  const double lr = optim.lr();
  const int64_t warmup = optim.warmup_steps();
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay_steps = total_steps - warmup - 1;
  if (decay_steps <= 0) return lr;
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(decay_steps), 0.0, 1.0);
  const double floor = lr * optim.min_lr_ratio();
  return floor + (lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace tigerfg::train
