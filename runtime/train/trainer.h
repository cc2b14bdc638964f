// runtime/train/trainer.h — the training loop: data -> forward -> gathered losses -> backward ->
// gradient sync -> AdamW, with one metrics.jsonl line per step and final.safetensors at the end.
#pragma once

#include <memory>
#include <string>

#include "configs/tigerfg.pb.h"
#include "runtime/status.h"

namespace tigerfg::comm {
class Communicator;
}

namespace tigerfg::train {

struct TrainOptions {
  std::string out_dir;
  std::string init_weights;  // optional safetensors to start from (spec names)
  // Optional safetensors whose query.* tensors become the frozen teacher.* (a first-stage query
  // tower; the teacher's ViT config must equal the query tower's), loaded after init_weights.
  std::string teacher_weights;
  // Fault injection for the fault-tolerance tests: rank `fault_rank` exits abruptly (no cleanup,
  // exit code 3) at the start of step `fault_step`. -1 = never.
  int fault_rank = -1;
  int64_t fault_step = -1;
};

struct TrainSummary {
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;
  double median_step_s = 0, samples_per_s = 0;
};

// Runs the whole training described by `cfg` on this rank. `comm` may be null for one process.
StatusOr<TrainSummary> Train(const config::RunConfig& cfg, const TrainOptions& options,
                             comm::Communicator* comm);

}  // namespace tigerfg::train
