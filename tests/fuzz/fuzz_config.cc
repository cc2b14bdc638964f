// tests/fuzz/fuzz_config.cc — the prototxt parser and the `--set` overrides: the input is config
// text, then a NUL, then an override string. What validates must print to text that parses back
// to the same config, and must convert to the spec's JSON.
#include <cstring>
#include <string>

#include "configs/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace config = tigerfg::config;
  using tigerfg::fuzz::Require;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string text = input.substr(0, nul);
  const std::string overrides = nul == std::string::npos ? "" : input.substr(nul + 1);
  auto parsed = config::ParseConfigText(text, "fuzz.prototxt");
  if (!parsed.ok()) return 0;
  config::RunConfig cfg = *parsed;
  if (!config::ApplyOverrides(overrides, &cfg).ok()) return 0;
  config::FillDependentDefaults(&cfg);
  if (!config::ValidateConfig(cfg).ok()) return 0;
  const std::string printed = config::ConfigToText(cfg);
  auto again = config::ParseConfigText(printed, "printed");
  Require(again.ok(), "ConfigToText wrote text that does not parse: " +
                          (again.ok() ? "" : again.status().message()));
  Require(config::ConfigToText(*again) == printed, "ConfigToText does not round-trip");
  Require(config::ValidateConfig(*again).ok(), "the printed config no longer validates");
  Require(!config::ModelConfigToSpecJson(cfg.model()).empty(), "empty spec JSON");
  return 0;
}
