// runtime/train/trainer.h — the training loop: data -> forward -> gathered losses -> backward ->
// gradient sync -> AdamW, with one metrics.jsonl line per step, checkpoints under
// out_dir/checkpoints and final.safetensors at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "configs/tigerfg.pb.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"

namespace tigerfg::comm {
class Communicator;
}

namespace tigerfg::train {

struct TrainOptions {
  std::string out_dir;
  std::string init_weights;  // optional safetensors to start from (spec names)
  // Resume from this checkpoint directory or checkpoint root (its `latest`); "" starts afresh.
  // Every rank reads it (a shared filesystem is assumed).
  std::string resume_from;
  // The out-dir policy (runtime/train/out_dir.h), applied by rank 0 and agreed by every rank:
  // resume_auto resumes from out_dir/checkpoints when it holds a complete checkpoint and starts
  // fresh otherwise; a fresh run refuses an out_dir holding a run unless overwrite.
  bool resume_auto = false;
  bool overwrite = false;
  // Preemption: polled on every rank at the end of each step (e.g. a SIGTERM/SIGUSR1 flag); when
  // it returns true on any rank, every rank stops after that step, a checkpoint is written and
  // Train returns a summary with `stopped` set (no final.safetensors).
  std::function<bool()> stop_requested;
  // Optional safetensors whose query.* tensors become the frozen teacher.* (a first-stage query
  // tower; the teacher's ViT config must equal the query tower's), loaded after init_weights.
  std::string teacher_weights;
  // Fault injection for the fault-tolerance tests (empty = nothing): before_step(step) runs on
  // every rank at the start of each step, before its launch (its batch is fetched while the step
  // before it runs); mid_checkpoint_write(step) runs on
  // rank 0 in the middle of writing the checkpoint of `step` (CheckpointWriteOptions::mid_write).
  // The launcher's --debug_exit_at and --debug_exit_during_save install hooks that exit abruptly.
  std::function<void(int64_t step)> before_step;
  std::function<void(int64_t step)> mid_checkpoint_write;
  // Observability (DESIGN.md §7): the peak TFLOP/s of one accelerator, for MFU in metrics.jsonl,
  // and an optional Chrome trace (runtime/core/trace.h); with several ranks rank r writes
  // trace_path with ".rank<r>" before its extension. An unwritable path fails before step 0.
  double peak_tflops = 791;
  std::string trace_path;
};

struct TrainSummary {
  int64_t steps = 0;       // run by this call
  int64_t start_step = 0;  // > 0 when resumed
  double first_loss = 0, last_loss = 0;
  double median_step_s = 0, samples_per_s = 0;
  double model_tflops = 0, mfu = 0;  // at the median step time
  int64_t peak_mem_bytes = 0;        // this rank's (runtime/core/peak_memory.h)
  int64_t skipped_samples = 0;       // bad samples skipped by the data loader, all ranks
  bool stopped = false;              // stop_requested: ended early after a checkpoint
  int64_t end_step = 0;              // the step the run stands at when Train returns
};

// Runs the whole training described by `cfg` on this rank, on ctx's device. `comm` is the job's
// communicator (the local one for a single process); on CUDA its buffers are device memory.
StatusOr<TrainSummary> Train(const config::RunConfig& cfg, const TrainOptions& options,
                             comm::Communicator* comm, const Context& ctx);

}  // namespace tigerfg::train
