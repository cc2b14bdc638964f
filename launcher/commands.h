// launcher/commands.h — the tigerfg subcommands. Each returns the process exit code; those without
// argc/argv read their flags from gflags (already parsed by main).
#pragma once

namespace tigerfg::launcher {

int RunTrain();                         // launcher/cmd_train.cc
int RunGrads();                         // launcher/cmd_grads.cc
int RunBench();                         // launcher/cmd_bench.cc
int RunConfig();                        // launcher/cmd_config.cc
int RunData(int argc, char** argv);     // launcher/cmd_data.cc: `tigerfg data fmnist --out DIR`
int RunInspect(int argc, char** argv);  // launcher/cmd_inspect.cc: `tigerfg inspect CKPT`
int RunEval();                          // launcher/cmd_eval.cc
int RunEmbed();                         // launcher/cmd_embed.cc
int RunExport();                        // launcher/cmd_export.cc

}  // namespace tigerfg::launcher
