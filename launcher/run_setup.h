// launcher/run_setup.h — what every subcommand does first: load the config named by --config with
// the --set overrides and the generic flag overrides, and report user errors uniformly.
#pragma once

#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/eval/serving.h"

namespace tigerfg::launcher {

// LoadConfig(--config, --set), then --steps and --device when given. --config is required.
StatusOr<config::RunConfig> LoadRunConfigFromFlags();

// The Context of train.device: cpu, cuda (an error without a GPU), or auto (CUDA when a GPU is
// visible). On CUDA the GPU is GpuForLocalRank(the rank's local rank from MPI, visible GPUs)
// unless the backend is local.
StatusOr<Context> SelectDevice(const std::string& device, const std::string& backend);

// local_rank % device_count: every GPU of a node when each rank sees all of them, and GPU 0 when
// the launcher shows each task one GPU (CUDA_VISIBLE_DEVICES per task, Slurm --gpus-per-task).
int GpuForLocalRank(int local_rank, int device_count);

// The non-empty items of a comma-separated flag value ("a,,b" -> {"a", "b"}).
std::vector<std::string> SplitList(const std::string& text);

// eval and embed: --weights or --checkpoint, --embed_batch rows per forward.
eval::ServingOptions ServingOptionsFromFlags();

// Prints "tigerfg <command>: error: <message>" to stderr and returns the exit code 1.
int ReportError(const std::string& command, const Status& status);

// Sets the OpenMP/OpenBLAS thread count: train.threads, or with 0 the node's cores divided among
// the ranks that share the node.
void ConfigureCpuThreads(int threads, int ranks_per_node = 1);

// How many ranks of the job run on this node (from the MPI launcher; `world_size` otherwise).
int RanksPerNode(int world_size);

}  // namespace tigerfg::launcher
