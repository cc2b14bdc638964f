// runtime/train/out_dir.h — the out-dir policy of `train`: a fresh run never silently overwrites
// a run already in --out_dir; --resume=auto continues it when it has a complete checkpoint.
#pragma once

#include <string>

#include "runtime/core/status.h"

namespace tigerfg::train {

// What a run leaves in its out_dir (the policy looks for any of them).
inline constexpr const char* kRunFiles[] = {"metrics.jsonl", "checkpoints", "final.safetensors"};

struct OutDirRequest {
  std::string out_dir;
  std::string resume_from;   // --resume / --resume_from: continue from there (never cleared)
  bool resume_auto = false;  // --resume=auto
  bool overwrite = false;    // --overwrite
};

// Creates out_dir and applies the policy on the files there (rank 0 only; others agree):
//  - resume_from given: nothing is cleared; returns it.
//  - resume_auto: out_dir/checkpoints when it holds a complete checkpoint; without one the run
//    starts fresh, clearing what a run killed before its first checkpoint leaves (metrics.jsonl,
//    an incomplete checkpoints/) but refusing a final.safetensors without --overwrite.
//  - fresh: an out_dir holding any of kRunFiles is an error naming them, unless overwrite, which
//    deletes them first (no stale step, metric line or checkpoint survives).
// Returns the checkpoint to resume from, "" for a fresh start.
StatusOr<std::string> PrepareOutDir(const OutDirRequest& request);

}  // namespace tigerfg::train
