// launcher/cmd_train.cc — `tigerfg train --config C --out_dir D [--set k=v,...]`.
#include <cstdio>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/train/trainer.h"

DEFINE_string(init_weights, "", "train: start from these parameters (safetensors, spec names)");

namespace tigerfg::launcher {

int RunTrain() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("train", cfg.status());
  if (FLAGS_out_dir.empty()) return ReportError("train", Status::Error("--out_dir is required"));
  ConfigureCpuThreads(cfg->train().threads());
  train::TrainOptions options;
  options.out_dir = FLAGS_out_dir;
  options.init_weights = FLAGS_init_weights;
  auto summary = train::Train(*cfg, options, /*comm=*/nullptr);
  if (!summary.ok()) return ReportError("train", summary.status());
  std::printf("trained %lld steps: loss %.6f -> %.6f, median step %.4f s, %.1f samples/s\n",
              static_cast<long long>(summary->steps), summary->first_loss, summary->last_loss,
              summary->median_step_s, summary->samples_per_s);
  return 0;
}

}  // namespace tigerfg::launcher
