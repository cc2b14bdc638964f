// tests/model/param_table_test.cc — the parameter table against the spec's state_dict: names,
// shapes and trainability, for the tiny preset and its no-teacher and baseline variants.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "model/tigerfg_model.h"
#include "tests/model/spec_runner.h"

namespace tigerfg::model {
namespace {

using testing::ScratchDir;

// name -> {shape, trainable} of the spec's state() for `cfg`.
std::map<std::string, std::pair<std::vector<int64_t>, bool>> SpecState(
    const config::ModelConfig& cfg) {
  ScratchDir dir("params");
  testing::WriteFile(dir.File("config.json"), config::ModelConfigToSpecJson(cfg));
  const std::string script =
      "import sys, json; sys.path.insert(0, sys.argv[1]); import tigerfg_ref as t\n"
      "cfg = t.TigerFGConfig.from_dict(json.load(open(sys.argv[2])))\n"
      "m, te = t.build(cfg)\n"
      "train = {k for k, _ in m.named_parameters()}\n"
      "print(json.dumps({k: [list(v.shape), k in train] for k, v in t.state(m, te).items()}))\n";
  testing::WriteFile(dir.File("names.py"), script);
  std::string out;
  const std::string ref_dir = std::string(TIGERFG_SOURCE_DIR) + "/tests/reference";
  const int rc =
      testing::RunCommand(std::string(testing::kSpecPython) + " " + dir.File("names.py") + " " +
                              ref_dir + " " + dir.File("config.json"),
                          &out);
  EXPECT_EQ(rc, 0) << out;
  std::map<std::string, std::pair<std::vector<int64_t>, bool>> state;
  if (rc != 0) return state;
  // The JSON is the last line; torch may print warnings before it.
  const size_t start = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  const auto parsed = nlohmann::json::parse(start == std::string::npos ? out : out.substr(start));
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    state[it.key()] = {it.value()[0].get<std::vector<int64_t>>(), it.value()[1].get<bool>()};
  }
  return state;
}

void ExpectTableMatchesSpec(const config::ModelConfig& cfg) {
  const ParamTable table = BuildParamTable(cfg);
  const auto spec = SpecState(cfg);
  ASSERT_FALSE(spec.empty());
  std::set<std::string> ours;
  bool seen_frozen = false;
  for (const ParamSpec& p : table.params()) {
    ours.insert(p.name);
    seen_frozen |= !p.trainable;
    EXPECT_TRUE(p.trainable || seen_frozen) << p.name << ": trainable after a frozen one";
    auto it = spec.find(p.name);
    if (it == spec.end()) {
      ADD_FAILURE() << p.name << " is not in the spec's state";
      continue;
    }
    EXPECT_EQ(p.shape.dims(), it->second.first) << p.name;
    EXPECT_EQ(p.trainable, it->second.second) << p.name;
    const bool is_weight = p.name.size() > 7 && p.name.substr(p.name.size() - 7) == ".weight";
    EXPECT_EQ(p.decay, is_weight && p.shape.ndim() >= 2) << p.name;
  }
  for (const auto& [name, v] : spec) EXPECT_TRUE(ours.count(name)) << name << " missing";
  EXPECT_EQ(table.params().size(), spec.size());
}

TEST(ParamTable, MatchesSpecTiny) { ExpectTableMatchesSpec(testing::TinyModel()); }

TEST(ParamTable, MatchesSpecWithoutTeacher) {
  const auto cfg = testing::TinyModel("model.teacher=none");
  ASSERT_FALSE(cfg.has_teacher());
  ExpectTableMatchesSpec(cfg);
}

TEST(ParamTable, MatchesSpecBaselineWithoutGrounding) {
  const auto cfg = testing::TinyModel("model.ground_layers=0");
  ExpectTableMatchesSpec(cfg);
  EXPECT_EQ(BuildParamTable(cfg).Find("ground.text_proj.weight"), nullptr);
}

TEST(ParamTable, LogitScaleIsAScalarAndTeacherIsLast) {
  const ParamTable table = BuildParamTable(testing::TinyModel());
  EXPECT_EQ(table.Get("logit_scale").shape.ndim(), 0);
  EXPECT_EQ(table.Get("logit_scale").numel(), 1);
  EXPECT_LT(table.trainable_numel(), table.total_numel());
  for (const ParamSpec& p : table.params()) {
    EXPECT_EQ(p.trainable, p.name.rfind("teacher.", 0) != 0) << p.name;
  }
}

TEST(InitParams, DeterministicAndShapedLikeTheSpec) {
  const auto cfg = testing::TinyModel();
  const ParamTable table = BuildParamTable(cfg);
  std::vector<float> a(table.total_numel()), b(table.total_numel()), c(table.total_numel());
  InitParams(table, cfg, 7, a.data());
  InitParams(table, cfg, 7, b.data());
  InitParams(table, cfg, 8, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FLOAT_EQ(a[table.Get("logit_scale").offset], cfg.init_logit_scale());
  const ParamSpec& ln = table.Get("query.blocks.0.ln1.weight");
  for (int64_t i = 0; i < ln.numel(); ++i) EXPECT_EQ(a[ln.offset + i], 1.0f);
  const ParamSpec& w = table.Get("query.blocks.0.attn.qkv.weight");
  const float bound = 1.0f / std::sqrt(static_cast<float>(w.shape[1]));
  float max_abs = 0;
  for (int64_t i = 0; i < w.numel(); ++i) max_abs = std::max(max_abs, std::fabs(a[w.offset + i]));
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.5f * bound);
}

}  // namespace
}  // namespace tigerfg::model
