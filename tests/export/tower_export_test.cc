// tests/export/tower_export_test.cc — the safetensors tower export: which tensors each tower
// holds (spec names and shapes, no teacher, no logit_scale), their values and the metadata.
#include "runtime/export/tower_export.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstring>
#include <set>
#include <string>

#include "configs/config.h"
#include "runtime/core/safetensors.h"
#include "tests/export/export_test_util.h"

namespace tigerfg::exporter {
namespace {

struct TowerCase {
  Tower tower;
  bool grounded;
};

class TowerSafetensorsTest : public ::testing::TestWithParam<TowerCase> {};

TEST_P(TowerSafetensorsTest, HoldsExactlyTheTowerWithMetadata) {
  const TowerCase c = GetParam();
  const config::RunConfig cfg = testing::ExportConfig(c.grounded, /*teacher=*/true);
  const ParamTable table = model::BuildParamTable(cfg.model());
  const std::vector<float> params = testing::InitialParams(table, cfg.model(), /*seed=*/3);
  const std::string path =
      testing::ScratchDir(std::string("tower_") + TowerName(c.tower)) + "/tower.safetensors";
  ASSERT_TRUE(ExportTowerSafetensors(path, cfg, table, params.data(), c.tower, /*step=*/42).ok());

  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::set<std::string> expected;
  for (const ParamSpec& p : table.params()) {
    const bool query = p.name.rfind("query.", 0) == 0 || p.name == "query_proj.weight";
    const bool item = p.name.rfind("item_vision.", 0) == 0 || p.name.rfind("text.", 0) == 0 ||
                      p.name.rfind("ground.", 0) == 0 || p.name == "item_proj.weight";
    if ((query && c.tower != Tower::kItem) || (item && c.tower != Tower::kQuery)) {
      expected.insert(p.name);
    }
  }
  std::set<std::string> written;
  for (const auto& [name, buffer] : file->tensors) {
    written.insert(name);
    const ParamSpec& spec = table.Get(name);
    ASSERT_EQ(buffer.dtype(), DType::kF32) << name;
    ASSERT_EQ(buffer.shape(), spec.shape) << name;
    EXPECT_EQ(std::memcmp(buffer.data(), params.data() + spec.offset, buffer.nbytes()), 0) << name;
  }
  EXPECT_EQ(written, expected);
  EXPECT_EQ(written.count("query_proj.weight"), c.tower != Tower::kItem ? 1u : 0u);
  EXPECT_EQ(written.count("item_proj.weight"), c.tower != Tower::kQuery ? 1u : 0u);
  EXPECT_EQ(written.count("ground.ln_out.weight"),
            c.tower != Tower::kQuery && c.grounded ? 1u : 0u);
  EXPECT_EQ(written.count("logit_scale"), 0u);
  for (const std::string& name : written) EXPECT_NE(name.rfind("teacher.", 0), 0u) << name;

  EXPECT_EQ(file->metadata.at("step"), "42");
  EXPECT_EQ(file->metadata.at("tower"), TowerName(c.tower));
  EXPECT_EQ(file->metadata.at("format"), "pt");
  EXPECT_EQ(file->metadata.at("model_json"), config::ModelConfigToSpecJson(cfg.model()));
  auto parsed = config::ParseConfigText(file->metadata.at("config"), "metadata.config");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  // Equivalent: the metadata writes every default out explicitly.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equivalent(parsed->model(), cfg.model()));
}

// Cases are named and printed, not dumped as bytes: the struct's padding bytes are indeterminate,
// and ctest's test names (discovered in one process, run in another) carry the printed parameter,
// so a byte dump sometimes named a test that the run could not find.
std::string TowerCaseName(const ::testing::TestParamInfo<TowerCase>& info) {
  static const char* const kTower[] = {"query", "item", "both"};
  return std::string(kTower[static_cast<int>(info.param.tower)]) +
         (info.param.grounded ? "_grounded" : "_baseline");
}

void PrintTo(const TowerCase& c, std::ostream* os) {
  *os << TowerCaseName(::testing::TestParamInfo<TowerCase>(c, 0));
}

INSTANTIATE_TEST_SUITE_P(Towers, TowerSafetensorsTest,
                         ::testing::Values(TowerCase{Tower::kQuery, true},
                                           TowerCase{Tower::kItem, true},
                                           TowerCase{Tower::kItem, false},
                                           TowerCase{Tower::kBoth, true}),
                         TowerCaseName);

TEST(TowerExport, ParseTowerNamesTheBadValue) {
  EXPECT_TRUE(ParseTower("both").ok());
  auto bad = ParseTower("teacher");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'teacher'"), std::string::npos);
}

}  // namespace
}  // namespace tigerfg::exporter
