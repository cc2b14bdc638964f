// launcher/run_setup.cc — config loading and error reporting shared by the subcommands.
#include "launcher/run_setup.h"

#include <omp.h>

#include <cstdio>

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

int ReportError(const std::string& command, const Status& status) {
  std::fprintf(stderr, "tigerfg %s: error: %s\n", command.c_str(), status.message().c_str());
  return 1;
}

void ConfigureCpuThreads(int threads) {
  if (threads <= 0) return;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

}  // namespace tigerfg::launcher
