// launcher/cmd_train.cc — `tigerfg train --config C --out_dir D [--set k=v,...] [--resume |
// --resume=auto | --resume_from DIR | --overwrite]`, as one process or one rank of an `mpirun` job
// (every rank runs the same command). SIGTERM/SIGUSR1 stop every rank at the next step boundary
// with a checkpoint and exit 0.
#include <csignal>
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
            "train: continue from the newest checkpoint in --out_dir (OUT_DIR/checkpoints/latest); "
            "--resume=auto: continue when there is one, else start fresh");
DEFINE_bool(resume_auto, false,
            "train: what --resume=auto sets: resume from --out_dir's newest complete checkpoint "
            "when there is one, else start fresh (pass it on every requeue)");
DEFINE_bool(overwrite, false,
            "train: a fresh run may replace the run in --out_dir (its metrics.jsonl, checkpoints/ "
            "and final.safetensors are deleted first); without it such an --out_dir is refused");
DEFINE_string(resume_from, "",
              "train: continue from this checkpoint directory or checkpoint root (its latest)");
DEFINE_int64(debug_exit_during_save, -1,
             "train, fault testing: rank 0 exits abruptly while writing the checkpoint of this "
             "step");

DEFINE_string(debug_signal_at, "",
              "train, fault testing: RANK:STEP makes that rank send itself SIGTERM at the start "
              "of that step (as a preempting scheduler would)");

DEFINE_string(debug_exit_at, "",
              "train, fault testing: RANK:STEP makes that rank exit abruptly at that step");

namespace tigerfg::launcher {

namespace {

// Set by SIGTERM/SIGUSR1 (Slurm's preemption and --signal, Kubernetes' termination); the trainer
// polls it at each step boundary and all ranks agree to stop.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int signal) { g_stop_signal = signal; }

void InstallStopSignals() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGTERM, SIGUSR1}) sigaction(signal, &action, nullptr);
}

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
  if (!FLAGS_debug_signal_at.empty()) {
    int signal_rank = -1;
    long signal_step = -1;
    if (std::sscanf(FLAGS_debug_signal_at.c_str(), "%d:%ld", &signal_rank, &signal_step) != 2)
      return Status::Error("--debug_signal_at: expected RANK:STEP, got '" + FLAGS_debug_signal_at +
                           "'");
    auto previous = std::move(options->before_step);
    options->before_step = [=](int64_t step) {
      if (previous) previous(step);
      if (rank == signal_rank && step == signal_step) std::raise(SIGTERM);
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

void PrintSummary(const train::TrainSummary& summary) {
  if (summary.stopped)
    std::printf("stopped after step %lld (%s): checkpoint written; continue with --resume=auto\n",
                static_cast<long long>(summary.end_step),
                g_stop_signal == SIGUSR1   ? "SIGUSR1"
                : g_stop_signal == SIGTERM ? "SIGTERM"
                                           : "another rank received SIGTERM or SIGUSR1");
  std::printf(
      "trained %lld steps%s: loss %.6f -> %.6f, median step %.4f s, %.1f samples/s, "
      "%.4g model TFLOP/s, MFU %.4g, peak memory %.3f GiB (rank 0), %lld samples skipped\n",
      static_cast<long long>(summary.steps),
      summary.start_step > 0 ? (" from step " + std::to_string(summary.start_step)).c_str() : "",
      summary.first_loss, summary.last_loss, summary.median_step_s, summary.samples_per_s,
      summary.model_tflops, summary.mfu,
      static_cast<double>(summary.peak_mem_bytes) / (1024.0 * 1024 * 1024),
      static_cast<long long>(summary.skipped_samples));
}

}  // namespace

int RunTrain() {
  InstallStopSignals();
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
  options.resume_auto = FLAGS_resume_auto;
  options.overwrite = FLAGS_overwrite;
  if (FLAGS_resume_auto && !options.resume_from.empty())
    return ReportError("train", Status::Error("--resume=auto and --resume/--resume_from exclude "
                                              "each other"));
  if (FLAGS_overwrite && (FLAGS_resume_auto || !options.resume_from.empty()))
    return ReportError("train", Status::Error("--overwrite starts a fresh run: it excludes "
                                              "--resume, --resume=auto and --resume_from"));
  if ((!options.resume_from.empty() || FLAGS_resume_auto) && !FLAGS_init_weights.empty())
    return ReportError("train", Status::Error("--init_weights and --resume/--resume_from exclude "
                                              "each other: a checkpoint holds every parameter"));
  options.stop_requested = [] { return g_stop_signal != 0; };
  options.teacher_weights = FLAGS_teacher_weights;
  options.peak_tflops = FLAGS_peak_tflops;
  options.trace_path = FLAGS_trace;
  Status hooks = InstallFaultHooks(rank, &options);
  if (!hooks.ok()) return ReportError("train", hooks);
  if (rank == 0)
    LOG(INFO) << "tigerfg train: " << (*comm)->world_size() << " rank(s), " << (*comm)->backend()
              << " communicator, " << (ctx->is_cuda() ? "CUDA" : "CPU");
  auto summary = train::Train(*cfg, options, comm->get(), *ctx);
  // Every rank has agreed on the outcome; the failing rank's message goes out before MPI is
  // finalized (a launcher may kill the job as soon as one rank leaves).
  const int code = summary.ok() ? 0 : ReportError("train", summary.status());
  std::fflush(stderr);
  comm->reset();
  comm::FinalizeMpi();
  if (!summary.ok()) return code;
  if (rank == 0) PrintSummary(*summary);
  return 0;
}

}  // namespace tigerfg::launcher
