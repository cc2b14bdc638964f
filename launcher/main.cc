// launcher/main.cc — the tigerfg binary: `tigerfg <command> [--flags]`.
#include <gflags/gflags.h>
// The prefix callback of InitGoogleLogging (Debian's glog is built with it).
#define GLOG_CUSTOM_PREFIX_SUPPORT
#include <glog/logging.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <string>

#include "launcher/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: tigerfg <command> [flags]\n"
    "  train    train a model (--config C --out_dir D [--set k=v,...] [--resume | --resume=auto "
    "| --resume_from DIR | --overwrite])\n"
    "  grads    losses and gradients for given weights and batch (--config --weights --batch "
    "--out)\n"
    "  bench    training-step throughput on synthetic data (--config --batch N --steps N)\n"
    "  config   print the resolved config (--spec_json: the model as the spec's JSON)\n"
    "  data     build a dataset: `data fmnist --out DIR`\n"
    "  inspect  print a checkpoint's manifest (`inspect CHECKPOINT [--verify]`)\n"
    "  eval     retrieval metrics (--config --weights|--checkpoint --eval_set DIR[,DIR2] [--out])\n"
    "  embed    one tower's embeddings (--config --weights|--checkpoint --data --tower --out)\n"
    "  export   serving files (--config --weights|--checkpoint --tower query|item|both --format "
    "safetensors|onnx --out)\n"
    "Run `tigerfg <command> --help` for a command's flags.\n";

// This process's rank from the launcher's environment (before MPI starts); -1 outside a job.
int LauncherRank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return -1;
}

// glog's usual prefix ("I1129 02:12:17.123456 file.cc:12] "), with "[rank R] " in front on every
// rank but 0 of a multi-rank job, so that interleaved lines say whose they are.
void LogPrefix(std::ostream& s, const google::LogMessageInfo& l, void* data) {
  const int rank = *static_cast<int*>(data);
  if (rank > 0) s << "[rank " << rank << "] ";
  s << l.severity[0] << std::setw(2) << std::setfill('0') << 1 + l.time.month() << std::setw(2)
    << l.time.day() << ' ' << std::setw(2) << l.time.hour() << ':' << std::setw(2) << l.time.min()
    << ':' << std::setw(2) << l.time.sec() << '.' << std::setw(6) << l.time.usec()
    << std::setfill(' ') << ' ' << l.filename << ':' << l.line_number << "]";
}

int g_rank = -1;

// `--resume=auto` is the documented spelling; gflags keeps --resume a bool, so it becomes
// --resume_auto.
void RewriteResumeAuto(int argc, char** argv) {
  static char resume_auto[] = "--resume_auto";
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--resume=auto") == 0 || std::strcmp(argv[i], "-resume=auto") == 0)
      argv[i] = resume_auto;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // Hand the rest to gflags as if the command were the program.
  argv[1] = argv[0];
  int rest_argc = argc - 1;
  char** rest_argv = argv + 1;
  gflags::SetUsageMessage("tigerfg " + command + " [flags]");
  FLAGS_logtostderr = true;
  g_rank = LauncherRank();
  google::InitGoogleLogging(argv[0], &LogPrefix, &g_rank);
  RewriteResumeAuto(rest_argc, rest_argv);
  google::InstallFailureSignalHandler();
  using namespace tigerfg::launcher;  // NOLINT: the command table below reads better unqualified
  if (command == "data") return RunData(rest_argc, rest_argv);
  if (command == "inspect") return RunInspect(rest_argc, rest_argv);
  gflags::ParseCommandLineFlags(&rest_argc, &rest_argv, /*remove_flags=*/true);
  if (rest_argc > 1) {
    std::fprintf(stderr, "tigerfg %s: unexpected argument '%s'\n", command.c_str(), rest_argv[1]);
    return 2;
  }
  if (command == "train") return RunTrain();
  if (command == "grads") return RunGrads();
  if (command == "bench") return RunBench();
  if (command == "config") return RunConfig();
  if (command == "eval") return RunEval();
  if (command == "embed") return RunEmbed();
  if (command == "export") return RunExport();
  std::fprintf(stderr, "tigerfg: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
