// runtime/checkpoint/checkpoint.h — training checkpoints (DESIGN.md §6): a directory holding a
// protobuf manifest and flat binary files, written atomically, found through the root's `latest`
// file.
#pragma once

#include <cstdint>
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
  // Fault injection for the tests: the process _exit(9)s after writing the parameters file into
  // the temporary directory, as a kill in the middle of a save would leave it.
  bool debug_exit_mid_write = false;
};

// Writes root/step-NNNNNNNN: files go to root/.tmp-step-NNNNNNNN, are fsynced with the directory,
// which is then renamed; root/latest is replaced atomically to name it; checkpoints beyond
// keep_last are deleted, oldest first. Returns the checkpoint's directory.
StatusOr<std::string> SaveCheckpoint(const std::string& root, const config::RunConfig& cfg,
                                     const ParamTable& table, const CheckpointState& state,
                                     const CheckpointWriteOptions& options);

// `path` is a checkpoint directory, a checkpoint root (meaning the checkpoint its `latest` names)
// or a `latest` file itself. Returns the checkpoint directory.
StatusOr<std::string> ResolveCheckpoint(const std::string& path);

// The complete checkpoints under `root`, oldest first.
std::vector<std::string> ListCheckpoints(const std::string& root);

StatusOr<checkpoint::Manifest> ReadManifest(const std::string& dir);

// Every file's size and every tensor's bounds and crc32; errors name the file and the tensor.
Status VerifyCheckpoint(const std::string& dir, const checkpoint::Manifest& manifest);

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
