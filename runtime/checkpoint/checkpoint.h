// runtime/checkpoint/checkpoint.h — training checkpoints (DESIGN.md §6): a directory holding a
// protobuf manifest and flat binary files, written atomically, found through the root's `latest`
// file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "configs/checkpoint.pb.h"
#include "configs/tigerfg.pb.h"
#include "runtime/core/param_table.h"
#include "runtime/core/status.h"

namespace tigerfg::train {

// Inside a checkpoint directory.
inline constexpr char kManifestFile[] = "manifest.pb";
inline constexpr char kParamsFile[] = "params.bin";
// The optimizer state of rank 0 (m then v); the optimizer is not sharded, so there is one.
inline constexpr char kOptimizerFile[] = "optimizer.rank0.bin";
// Inside a checkpoint root: the name of the newest complete checkpoint directory.
inline constexpr char kLatestFile[] = "latest";

// What a checkpoint holds, as views of the trainer's flat buffers laid out by the ParamTable.
struct CheckpointState {
  int64_t step = 0;    // optimizer steps completed
  int64_t cursor = 0;  // global samples consumed
  int world_size = 1;
  const float* params = nullptr;  // [total_numel]
  const float* m = nullptr;       // [trainable_numel]
  const float* v = nullptr;       // [trainable_numel]
};

struct CheckpointWriteOptions {
  int keep_last = 2;  // complete checkpoints kept in the root after a save; <= 0 keeps all
  // Fault injection for the tests (empty = nothing): called after the parameters file is written
  // into the temporary directory, where a kill in the middle of a save would leave it.
  std::function<void()> mid_write;
};

// Writes root/step-NNNNNNNN: files go to root/.tmp-step-NNNNNNNN, are fsynced with the directory,
// which is then renamed (swapped atomically with a same-step checkpoint of an earlier run);
// root/latest is replaced atomically to name it; checkpoints of later steps (an earlier run's)
// and those beyond keep_last, oldest first, are deleted, each manifest first. Leftovers of a kill
// (temporary directories, step directories without a manifest) are removed first. The manifest
// ends with its own crc32 (ReadManifest refuses an edited one).
StatusOr<std::string> SaveCheckpoint(const std::string& root, const config::RunConfig& cfg,
                                     const ParamTable& table, const CheckpointState& state,
                                     const CheckpointWriteOptions& options);

// `path` is a checkpoint directory, a checkpoint root (meaning the checkpoint its `latest` names)
// or a `latest` file itself. Returns the checkpoint directory.
StatusOr<std::string> ResolveCheckpoint(const std::string& path);

// The complete checkpoints under `root`, oldest first.
std::vector<std::string> ListCheckpoints(const std::string& root);

// The manifest, its format version and its checksum (a manifest without one, written before it
// existed, is accepted with a warning).
StatusOr<checkpoint::Manifest> ReadManifest(const std::string& dir);

// Every file's size and every tensor's dtype (F32), length for its shape, bounds and crc32; with
// `table`, also what resume checks: every tensor of that model (parameters, and the moments of
// the trainable ones) present with its shape and none other. Errors name the file and the tensor.
Status VerifyCheckpoint(const std::string& dir, const checkpoint::Manifest& manifest,
                        const ParamTable* table = nullptr);

// The manifest's model section against `model`; an error names the differing fields.
Status CheckSameModel(const checkpoint::Manifest& manifest, const config::ModelConfig& model);

struct LoadedCheckpoint {
  std::string dir;
  int64_t step = 0, cursor = 0;
  int world_size = 1;
};

// Reads and verifies the whole checkpoint, then copies it into params [total_numel] and
// m, v [trainable_numel] (either may be null to skip the optimizer state). Every parameter of
// `table` must be present with its shape and no tensor may be unknown; on any error nothing is
// written. Errors name the file and the tensor.
StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::string& dir, const ParamTable& table,
                                          float* params, float* m, float* v);

}  // namespace tigerfg::train
