// tests/configs/spec_json_test.cc — ModelConfigToSpecJson is read by the spec's
// TigerFGConfig.from_dict into the same dataclasses as the spec's own PRESETS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "configs/config.h"

namespace tigerfg::config {
namespace {

// argv[1] is the spec's folder, then triples (json path, preset name, "teacher"|"no_teacher"):
// each JSON is read with the spec's from_dict and compared with PRESETS[name] (its teacher
// dropped for "no_teacher"), one line per triple. The runtime computes in float32, so float
// fields are compared after rounding both sides to float32. One process: importing torch is slow.
constexpr char kCompareScript[] = R"(import dataclasses, json, struct, sys
sys.path.insert(0, sys.argv[1])
import tigerfg_ref as r
f32 = lambda x: struct.unpack('f', struct.pack('f', x))[0]
def norm(c):
    def walk(v):
        if isinstance(v, dict): return {k: walk(x) for k, x in v.items()}
        return f32(v) if isinstance(v, float) else v
    return walk(dataclasses.asdict(c))
args = sys.argv[2:]
for path, name, teacher in zip(args[0::3], args[1::3], args[2::3]):
    ours = r.TigerFGConfig.from_dict(json.load(open(path)))
    preset = dict(r.PRESETS[name])
    if teacher == 'no_teacher': preset['teacher'] = None
    spec = r.TigerFGConfig.from_dict(preset)
    ok = (norm(ours) == norm(spec) and type(ours.query) is r.ViTConfig
          and type(ours.text) is r.TextConfig
          and all(type(getattr(ours.query, f.name)) is int for f in dataclasses.fields(r.ViTConfig)))
    print(name, teacher, 'EQUAL' if ok else 'DIFFERENT ours=%r spec=%r' % (norm(ours), norm(spec)))
)";

std::string RunPython(const std::string& args) {
  const std::string script = ::testing::TempDir() + "/compare_spec_config.py";
  std::ofstream(script) << kCompareScript;
  const std::string command = "/usr/bin/python3 " + script + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return "";
  std::string output;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  EXPECT_EQ(pclose(pipe), 0) << output;
  return output;
}

TEST(ModelConfigToSpecJson, ShippedConfigsEqualTheSpecPresets) {
  struct Case {
    std::string config, preset, overrides;
  };
  const Case cases[] = {{"tiny_cpu.prototxt", "tiny", ""},
                        {"small_cpu.prototxt", "small", ""},
                        {"vit_b16.prototxt", "base", ""},
                        {"tiny_cpu.prototxt", "tiny", "model.teacher=none"}};
  std::string args = std::string(TIGERFG_SOURCE_DIR) + "/tests/reference";
  std::string expected;
  int index = 0;
  for (const Case& c : cases) {
    StatusOr<RunConfig> config =
        LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/" + c.config, c.overrides);
    ASSERT_TRUE(config.ok()) << config.status().message();
    const std::string json_path =
        ::testing::TempDir() + "/spec_config_" + std::to_string(index++) + ".json";
    std::ofstream(json_path) << ModelConfigToSpecJson(config->model());
    const std::string teacher = config->model().has_teacher() ? "teacher" : "no_teacher";
    args += " " + json_path + " " + c.preset + " " + teacher;
    expected += c.preset + " " + teacher + " EQUAL\n";
  }
  EXPECT_EQ(RunPython(args), expected);
}

TEST(ModelConfigToSpecJson, WritesEveryFieldWithTheFloat32Value) {
  ModelConfig model;
  model.mutable_query();
  model.mutable_item();
  model.mutable_text();
  model.set_tau_map(0.07f);
  const nlohmann::json j = nlohmann::json::parse(ModelConfigToSpecJson(model));
  EXPECT_TRUE(j.at("teacher").is_null());
  EXPECT_EQ(j.at("query").size(), 7u);
  EXPECT_EQ(j.at("text").size(), 6u);
  EXPECT_EQ(j.size(), 14u);
  EXPECT_EQ(j.at("query").at("mlp_ratio").get<int>(), 4);
  EXPECT_EQ(j.at("tau_map").get<double>(), static_cast<double>(0.07f));
  EXPECT_EQ(j.at("init_logit_scale").get<double>(), static_cast<double>(2.6592600369644165f));
}

}  // namespace
}  // namespace tigerfg::config
