// launcher/cmd_train.cc — `tigerfg train --config C --out_dir D [--set k=v,...] [--resume |
// --resume_from DIR]`, as one process or one rank of an `mpirun` job (every rank runs the same
// command).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "comm/communicator.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/train/trainer.h"

DEFINE_string(init_weights, "", "train: start from these parameters (safetensors, spec names)");

DEFINE_string(teacher_weights, "",
              "train: safetensors whose query.* tensors initialise the frozen teacher.*");

DEFINE_bool(resume, false,
            "train: continue from the newest checkpoint in --out_dir (OUT_DIR/checkpoints/latest)");
DEFINE_string(resume_from, "",
              "train: continue from this checkpoint directory or checkpoint root (its latest)");
DEFINE_int64(debug_exit_during_save, -1,
             "train, fault testing: rank 0 exits abruptly while writing the checkpoint of this "
             "step");

DEFINE_string(debug_exit_at, "",
              "train, fault testing: RANK:STEP makes that rank exit abruptly at that step");

namespace tigerfg::launcher {

namespace {

// The fault-testing flags become the trainer's hooks: the process exits abruptly, without
// cleanup, as a killed rank would (exit code 3 at a step, 9 in the middle of a checkpoint).
Status InstallFaultHooks(int rank, train::TrainOptions* options) {
  if (!FLAGS_debug_exit_at.empty()) {
    int fault_rank = -1;
    long fault_step = -1;
    if (std::sscanf(FLAGS_debug_exit_at.c_str(), "%d:%ld", &fault_rank, &fault_step) != 2)
      return Status::Error("--debug_exit_at: expected RANK:STEP, got '" + FLAGS_debug_exit_at +
                           "'");
    options->before_step = [rank, fault_rank, fault_step](int64_t step) {
      if (rank != fault_rank || step != fault_step) return;
      LOG(ERROR) << "fault injection: rank " << rank << " exits at step " << step;
      std::_Exit(3);
    };
  }
  if (const int64_t save_step = FLAGS_debug_exit_during_save; save_step >= 0) {
    options->mid_checkpoint_write = [save_step](int64_t step) {
      if (step != save_step) return;
      LOG(ERROR) << "fault injection: exiting in the middle of writing the checkpoint of step "
                 << step;
      std::_Exit(9);
    };
  }
  return Status::Ok();
}

}  // namespace

int RunTrain() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("train", cfg.status());
  if (FLAGS_out_dir.empty()) return ReportError("train", Status::Error("--out_dir is required"));
  if (!(FLAGS_peak_tflops > 0))
    return ReportError("train", Status::Error("--peak_tflops must be > 0, got " +
                                              std::to_string(FLAGS_peak_tflops)));
  auto ctx = SelectDevice(cfg->train().device(), cfg->dist().backend());
  if (!ctx.ok()) return ReportError("train", ctx.status());
  comm::CommOptions comm_options;
  comm_options.backend = cfg->dist().backend();
  comm_options.timeout_s = cfg->dist().timeout_s();
  comm_options.ctx = &*ctx;
  auto comm = comm::CreateCommunicator(comm_options);
  if (!comm.ok()) return ReportError("train", comm.status());
  const int rank = (*comm)->rank();
  if (rank != 0) FLAGS_minloglevel = google::GLOG_WARNING;  // rank 0 logs; others warn only
  ConfigureCpuThreads(cfg->train().threads(), RanksPerNode((*comm)->world_size()));
  train::TrainOptions options;
  options.out_dir = FLAGS_out_dir;
  options.init_weights = FLAGS_init_weights;
  options.resume_from = !FLAGS_resume_from.empty() ? FLAGS_resume_from
                        : FLAGS_resume             ? FLAGS_out_dir + "/checkpoints"
                                                   : "";
  if (!options.resume_from.empty() && !FLAGS_init_weights.empty())
    return ReportError("train", Status::Error("--init_weights and --resume/--resume_from exclude "
                                              "each other: a checkpoint holds every parameter"));
  options.teacher_weights = FLAGS_teacher_weights;
  options.peak_tflops = FLAGS_peak_tflops;
  options.trace_path = FLAGS_trace;
  Status hooks = InstallFaultHooks(rank, &options);
  if (!hooks.ok()) return ReportError("train", hooks);
  if (rank == 0)
    LOG(INFO) << "tigerfg train: " << (*comm)->world_size() << " rank(s), " << (*comm)->backend()
              << " communicator, " << (ctx->is_cuda() ? "CUDA" : "CPU");
  auto summary = train::Train(*cfg, options, comm->get(), *ctx);
  comm->reset();
  comm::FinalizeMpi();
  if (!summary.ok()) return ReportError("train", summary.status());
  if (rank == 0)
    std::printf(
        "trained %lld steps%s: loss %.6f -> %.6f, median step %.4f s, %.1f samples/s, "
        "%.4g model TFLOP/s, MFU %.4g, peak memory %.3f GiB (rank 0)\n",
        static_cast<long long>(summary->steps),
        summary->start_step > 0 ? (" from step " + std::to_string(summary->start_step)).c_str()
                                : "",
        summary->first_loss, summary->last_loss, summary->median_step_s, summary->samples_per_s,
        summary->model_tflops, summary->mfu,
        static_cast<double>(summary->peak_mem_bytes) / (1024.0 * 1024 * 1024));
  return 0;
}

}  // namespace tigerfg::launcher
