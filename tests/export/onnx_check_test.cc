// tests/export/onnx_check_test.cc — the tower graphs pass ONNX's checker and strict shape
// inference (grounded and baseline, with and without a teacher in the config), name their inputs
// and outputs as serving expects, and carry only their tower's parameters.
#include <set>
#include <string>

#include "runtime/export/onnx_export.h"
#include "runtime/export/tower_export.h"
#include "tests/export/export_test_util.h"

namespace tigerfg::exporter {
namespace {

struct GraphCase {
  bool grounded;
  bool teacher;
};

std::string DimName(const onnx::ValueInfoProto& info, int i) {
  return info.type().tensor_type().shape().dim(i).dim_param();
}

void ExpectTowerInitializers(const onnx::ModelProto& model, const ParamTable& table, Tower tower) {
  std::set<std::string> params, expected;
  for (const onnx::TensorProto& t : model.graph().initializer()) {
    if (table.Find(t.name()) != nullptr) params.insert(t.name());
  }
  for (const ParamSpec* p : TowerParams(table, tower)) expected.insert(p->name);
  EXPECT_EQ(params, expected);
}

class OnnxCheckTest : public ::testing::TestWithParam<GraphCase> {};

TEST_P(OnnxCheckTest, QueryTowerPassesTheChecker) {
  const config::RunConfig cfg = testing::ExportConfig(GetParam().grounded, GetParam().teacher);
  const ParamTable table = model::BuildParamTable(cfg.model());
  const std::vector<float> params = testing::InitialParams(table, cfg.model(), /*seed=*/5);
  onnx::ModelProto model = BuildQueryTowerOnnx(cfg.model(), table, params.data());
  const Status checked = CheckOnnxModel(&model, "query tower");
  ASSERT_TRUE(checked.ok()) << checked.message();
  EXPECT_EQ(model.opset_import(0).version(), 17);
  ASSERT_EQ(model.graph().input_size(), 1);
  EXPECT_EQ(model.graph().input(0).name(), "image");
  EXPECT_EQ(DimName(model.graph().input(0), 0), "batch");
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().output(0).name(), "embedding");
  EXPECT_EQ(DimName(model.graph().output(0), 0), "batch");
  EXPECT_EQ(model.graph().output(0).type().tensor_type().shape().dim(1).dim_value(),
            cfg.model().embed_dim());
  ExpectTowerInitializers(model, table, Tower::kQuery);
}

TEST_P(OnnxCheckTest, ItemTowerPassesTheChecker) {
  const config::RunConfig cfg = testing::ExportConfig(GetParam().grounded, GetParam().teacher);
  const ParamTable table = model::BuildParamTable(cfg.model());
  const std::vector<float> params = testing::InitialParams(table, cfg.model(), /*seed=*/5);
  onnx::ModelProto model = BuildItemTowerOnnx(cfg.model(), table, params.data());
  const Status checked = CheckOnnxModel(&model, "item tower");
  ASSERT_TRUE(checked.ok()) << checked.message();
  ASSERT_EQ(model.graph().input_size(), 2);
  EXPECT_EQ(model.graph().input(0).name(), "image");
  EXPECT_EQ(model.graph().input(1).name(), "title_ids");
  EXPECT_EQ(model.graph().input(1).type().tensor_type().elem_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(DimName(model.graph().input(1), 0), "batch");
  EXPECT_EQ(model.graph().output(0).name(), "embedding");
  ExpectTowerInitializers(model, table, Tower::kItem);
}

INSTANTIATE_TEST_SUITE_P(Configs, OnnxCheckTest,
                         ::testing::Values(GraphCase{true, true}, GraphCase{true, false},
                                           GraphCase{false, true}, GraphCase{false, false}),
                         [](const ::testing::TestParamInfo<GraphCase>& info) {
                           return std::string(info.param.grounded ? "Grounded" : "Baseline") +
                                  (info.param.teacher ? "WithTeacher" : "NoTeacher");
                         });

// The checks can fail: a graph whose declared output disagrees with what it computes, and one
// that reads a value nothing produces, are both rejected with the tower named.
TEST(OnnxCheck, RejectsBrokenGraphs) {
  const config::RunConfig cfg = testing::ExportConfig(/*grounded=*/true, /*teacher=*/false);
  const ParamTable table = model::BuildParamTable(cfg.model());
  const std::vector<float> params = testing::InitialParams(table, cfg.model(), /*seed=*/5);

  onnx::ModelProto wrong_dim = BuildQueryTowerOnnx(cfg.model(), table, params.data());
  wrong_dim.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(cfg.model().embed_dim() + 1);
  Status st = CheckOnnxModel(&wrong_dim, "query tower");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("query tower"), std::string::npos) << st.message();

  onnx::ModelProto dangling = BuildItemTowerOnnx(cfg.model(), table, params.data());
  dangling.mutable_graph()->mutable_node(3)->set_input(0, "no_such_value");
  st = CheckOnnxModel(&dangling, "item tower");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("item tower"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tigerfg::exporter
