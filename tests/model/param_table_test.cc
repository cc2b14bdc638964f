// tests/model/param_table_test.cc — the parameter table against the spec's state_dict: names,
// shapes and trainability, for the tiny preset and its no-teacher and baseline variants; its
// 256-byte aligned offsets and the zero gaps between tensors.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "model/tigerfg_model.h"
#include "runtime/train/optimizer.h"
#include "tests/model/one_rank_step.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"

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

// Issue #10: every tensor at a 256-byte offset of the fp32 buffers (128 bytes in the bf16 mirror),
// for the tiny preset, without teacher, and at the paper's scale.
TEST(ParamTable, EveryOffsetIs256ByteAligned) {
  auto vit_b16 = config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/vit_b16.prototxt");
  ASSERT_TRUE(vit_b16.ok()) << vit_b16.status().message();
  for (const config::ModelConfig& cfg :
       {testing::TinyModel(), testing::TinyModel("model.teacher=none"), vit_b16->model()}) {
    const ParamTable table = BuildParamTable(cfg);
    int64_t end = 0;
    for (const ParamSpec& p : table.params()) {
      EXPECT_EQ(p.offset * sizeof(float) % 256, 0u) << p.name << " at " << p.offset;
      EXPECT_EQ(p.offset * sizeof(uint16_t) % 128, 0u) << p.name;
      EXPECT_GE(p.offset, end) << p.name << " overlaps the tensor before it";
      end = p.offset + p.numel();
      if (p.trainable) EXPECT_LE(end, table.trainable_numel()) << p.name;
    }
    EXPECT_EQ(table.total_numel() % kParamAlignment, 0);
    EXPECT_EQ(table.trainable_numel() % kParamAlignment, 0);
  }
}

// The gaps between tensors stay zero through initialisation, a step and an optimizer update, in
// the parameters, the gradients and both AdamW moments.
TEST(ParamTable, GapsStayZeroThroughAStep) {
  const config::ModelConfig cfg = testing::TinyModel();
  TigerFGModel model(cfg, 2, Context::Cpu());
  const ParamTable& table = model.table();
  InitParams(table, cfg, /*seed=*/5, model.params());
  testing::OneRankStep(model, testing::RandomBatch(cfg, 2, /*seed=*/6));
  config::OptimConfig optim;
  optim.set_weight_decay(0.1f);
  train::AdamW adamw(table, optim, /*total_steps=*/10);
  adamw.Step(Context::Cpu(), model.params(), model.grads(), 0);
  std::vector<bool> in_tensor(table.total_numel(), false);
  int64_t gap_elements = 0;
  for (const ParamSpec& p : table.params())
    std::fill_n(in_tensor.begin() + p.offset, p.numel(), true);
  for (int64_t i = 0; i < table.total_numel(); ++i) {
    if (in_tensor[i]) continue;
    ++gap_elements;
    ASSERT_EQ(model.params()[i], 0.0f) << "parameter gap element " << i;
    if (i >= table.trainable_numel()) continue;
    ASSERT_EQ(model.grads()[i], 0.0f) << "gradient gap element " << i;
    ASSERT_EQ(adamw.m().f32()[i], 0.0f) << "AdamW m gap element " << i;
    ASSERT_EQ(adamw.v().f32()[i], 0.0f) << "AdamW v gap element " << i;
  }
  EXPECT_GT(gap_elements, 0);
}

}  // namespace
}  // namespace tigerfg::model
