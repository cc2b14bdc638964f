// launcher/main.cc — the tigerfg binary: `tigerfg <command> [--flags]`.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "launcher/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: tigerfg <command> [flags]\n"
    "  train    train a model (--config C --out_dir D [--set k=v,...] [--resume | --resume_from "
    "DIR])\n"
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
  google::InitGoogleLogging(argv[0]);
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
