// launcher/cmd_config.cc — `tigerfg config --config C [--set ...] [--spec_json]`: prints the
// resolved config (every field, overrides applied, validated), or the model section as the JSON
// the PyTorch specification reads (tests/reference/tigerfg_ref.py --config).
#include <cstdio>

#include "configs/config.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"

DEFINE_bool(spec_json, false, "config: print the model section as the specification's JSON");

namespace tigerfg::launcher {

int RunConfig() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("config", cfg.status());
  const std::string text =
      FLAGS_spec_json ? config::ModelConfigToSpecJson(cfg->model()) : config::ConfigToText(*cfg);
  std::fputs(text.c_str(), stdout);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace tigerfg::launcher
