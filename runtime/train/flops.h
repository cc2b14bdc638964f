// runtime/train/flops.h — the model FLOPs of one training step, as the spec's count_flops counts
// them (matmul FLOPs; forward + backward = 3x forward; the teacher forward only).
#pragma once

#include <cstdint>

#include "configs/tigerfg.pb.h"

namespace tigerfg::train {

double StepFlops(const config::ModelConfig& cfg, int64_t batch);

}  // namespace tigerfg::train
