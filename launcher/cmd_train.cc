// launcher/cmd_train.cc — `tigerfg train --config C --out_dir D [--set k=v,...]`, as one process
// or one rank of an `mpirun` job (every rank runs the same command).
#include <cstdio>

#include "comm/communicator.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/train/trainer.h"

DEFINE_string(init_weights, "", "train: start from these parameters (safetensors, spec names)");

DEFINE_string(teacher_weights, "",
              "train: safetensors whose query.* tensors initialise the frozen teacher.*");

DEFINE_string(debug_exit_at, "",
              "train, fault testing: RANK:STEP makes that rank exit abruptly at that step");

namespace tigerfg::launcher {

int RunTrain() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("train", cfg.status());
  if (FLAGS_out_dir.empty()) return ReportError("train", Status::Error("--out_dir is required"));
  comm::CommOptions comm_options;
  comm_options.backend = cfg->dist().backend();
  comm_options.timeout_s = cfg->dist().timeout_s();
  Context ctx = Context::Cpu();
  comm_options.ctx = &ctx;
  auto comm = comm::CreateCommunicator(comm_options);
  if (!comm.ok()) return ReportError("train", comm.status());
  const int rank = (*comm)->rank();
  if (rank != 0) FLAGS_minloglevel = google::GLOG_WARNING;  // rank 0 logs; others warn only
  ConfigureCpuThreads(cfg->train().threads(), RanksPerNode((*comm)->world_size()));
  train::TrainOptions options;
  options.out_dir = FLAGS_out_dir;
  options.init_weights = FLAGS_init_weights;
  options.teacher_weights = FLAGS_teacher_weights;
  if (!FLAGS_debug_exit_at.empty() && std::sscanf(FLAGS_debug_exit_at.c_str(), "%d:%ld",
                                                  &options.fault_rank, &options.fault_step) != 2)
    return ReportError("train", Status::Error("--debug_exit_at: expected RANK:STEP, got '" +
                                              FLAGS_debug_exit_at + "'"));
  auto summary = train::Train(*cfg, options, comm->get());
  comm->reset();
  comm::FinalizeMpi();
  if (!summary.ok()) return ReportError("train", summary.status());
  if (rank == 0)
    std::printf("trained %lld steps: loss %.6f -> %.6f, median step %.4f s, %.1f samples/s\n",
                static_cast<long long>(summary->steps), summary->first_loss, summary->last_loss,
                summary->median_step_s, summary->samples_per_s);
  return 0;
}

}  // namespace tigerfg::launcher
