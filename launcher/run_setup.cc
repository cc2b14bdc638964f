// launcher/run_setup.cc — config loading and error reporting shared by the subcommands.
#include "launcher/run_setup.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "configs/config.h"
#include "launcher/flags.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace tigerfg::launcher {

StatusOr<config::RunConfig> LoadRunConfigFromFlags() {
  if (FLAGS_config.empty()) return Status::Error("--config is required");
  TIGERFG_ASSIGN_OR_RETURN(config::RunConfig cfg, config::LoadConfig(FLAGS_config, FLAGS_set));
  if (FLAGS_steps > 0) cfg.mutable_train()->set_steps(FLAGS_steps);
  if (!FLAGS_device.empty()) cfg.mutable_train()->set_device(FLAGS_device);
  TIGERFG_RETURN_IF_ERROR(config::ValidateConfig(cfg).WithContext(FLAGS_config));
  return cfg;
}

StatusOr<Context> SelectDevice(const std::string& device, const std::string& backend) {
  const bool gpu = CudaAvailable();
  if (device == "cuda" && !gpu)
    return Status::Error(
        "train.device: cuda requested, but no GPU is visible (or this build has "
        "no CUDA backend)");
  if (device == "cpu" || !gpu) return Context::Cpu();
  int local_rank = 0;
  if (backend != "local") {
    TIGERFG_RETURN_IF_ERROR(comm::InitMpi(nullptr, nullptr));
    local_rank = comm::MpiLocalRank();
  }
  return Context::Cuda(GpuForLocalRank(local_rank, CudaDeviceCount()));
}

int GpuForLocalRank(int local_rank, int device_count) {
  return device_count > 0 ? local_rank % device_count : 0;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

eval::ServingOptions ServingOptionsFromFlags() {
  eval::ServingOptions options;
  options.weights = FLAGS_weights;
  options.checkpoint = FLAGS_checkpoint;
  options.batch = FLAGS_embed_batch;
  return options;
}

int ReportError(const std::string& command, const Status& status) {
  std::fprintf(stderr, "tigerfg %s: error: %s\n", command.c_str(), status.message().c_str());
  return 1;
}

void ConfigureCpuThreads(int threads, int ranks_per_node) {
  if (threads <= 0) {
    // Share the node's cores among its ranks (mpirun -np 4 on 16 cores: 4 threads each).
    const int cores = omp_get_num_procs();
    threads = std::max(1, cores / std::max(1, ranks_per_node));
  }
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int RanksPerNode(int world_size) {
  // Open MPI and Slurm say how many ranks share this node; without them assume all do.
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"})
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  return world_size;
}

}  // namespace tigerfg::launcher
