// launcher/commands.h — the tigerfg subcommands. Each takes the arguments after the subcommand
// name (already parsed into gflags) and returns the process exit code.
#pragma once

namespace tigerfg::launcher {

int RunTrain();   // launcher/cmd_train.cc
int RunGrads();   // launcher/cmd_grads.cc
int RunBench();   // launcher/cmd_bench.cc
int RunData(int argc, char** argv);  // launcher/cmd_data.cc: `tigerfg data fmnist --out DIR`
int RunEval();    // launcher/cmd_eval.cc
int RunEmbed();   // launcher/cmd_embed.cc
int RunExport();  // launcher/cmd_export.cc
int RunInspect(int argc, char** argv);  // launcher/cmd_inspect.cc

}  // namespace tigerfg::launcher
