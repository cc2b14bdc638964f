// tests/configs/config_test.cc — loading the shipped configs, text-format errors, `--set`
// overrides and the fully explicit text form.
#include "configs/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace tigerfg::config {
namespace {

using ::testing::HasSubstr;

std::string ConfigPath(const std::string& name) {
  return std::string(TIGERFG_SOURCE_DIR) + "/configs/" + name;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

RunConfig Tiny(const std::string& overrides = "") {
  StatusOr<RunConfig> config = LoadConfig(ConfigPath("tiny_cpu.prototxt"), overrides);
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? config.value() : RunConfig();
}

Status LoadError(const std::string& overrides) {
  StatusOr<RunConfig> config = LoadConfig(ConfigPath("tiny_cpu.prototxt"), overrides);
  return config.ok() ? Status::Ok() : config.status();
}

TEST(LoadConfig, TinyMatchesTheSpecPreset) {
  const RunConfig config = Tiny();
  const ModelConfig& m = config.model();
  EXPECT_EQ(m.query().image_size(), 32);
  EXPECT_EQ(m.query().patch_size(), 8);
  EXPECT_EQ(m.query().width(), 64);
  EXPECT_EQ(m.text().vocab_size(), 128);
  EXPECT_EQ(m.text().max_len(), 8);
  EXPECT_EQ(m.text().width(), 48);
  EXPECT_EQ(m.teacher().width(), 32);
  EXPECT_EQ(m.teacher().depth(), 1);
  EXPECT_EQ(m.ground_heads(), 4);
  EXPECT_EQ(m.embed_dim(), 32);
  EXPECT_EQ(config.train().device(), "cpu");
}

TEST(LoadConfig, SmallMatchesTheSpecPreset) {
  StatusOr<RunConfig> config = LoadConfig(ConfigPath("small_cpu.prototxt"), "");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const ModelConfig& m = config->model();
  EXPECT_EQ(m.query().image_size(), 64);
  EXPECT_EQ(m.item().width(), 128);
  EXPECT_EQ(m.item().depth(), 4);
  EXPECT_EQ(m.text().vocab_size(), 2048);
  EXPECT_EQ(m.text().max_len(), 16);
  EXPECT_EQ(m.text().depth(), 2);
  EXPECT_EQ(m.teacher().width(), 128);
  EXPECT_EQ(m.embed_dim(), 128);
}

TEST(LoadConfig, VitB16IsThePaperScale) {
  StatusOr<RunConfig> config = LoadConfig(ConfigPath("vit_b16.prototxt"), "");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const ModelConfig& m = config->model();
  for (const ViTConfig* vit : {&m.query(), &m.item(), &m.teacher()}) {
    EXPECT_EQ(vit->image_size(), 224);
    EXPECT_EQ(vit->patch_size(), 16);
    EXPECT_EQ(vit->width(), 768);
    EXPECT_EQ(vit->depth(), 12);
    EXPECT_EQ(vit->heads(), 12);
  }
  EXPECT_EQ(m.text().vocab_size(), 21128);
  EXPECT_EQ(m.ground_layers(), 2);
  EXPECT_EQ(m.ground_heads(), 12);
  EXPECT_EQ(m.embed_dim(), 256);
  EXPECT_EQ(config->train().device(), "auto");
}

TEST(LoadConfig, FillsMeanAndStdPerChannel) {
  const RunConfig config = Tiny();
  ASSERT_EQ(config.data().mean_size(), config.model().query().channels());
  ASSERT_EQ(config.data().std_size(), config.model().query().channels());
  EXPECT_FLOAT_EQ(config.data().mean(0), 0.5f);
  EXPECT_FLOAT_EQ(config.data().std(2), 0.5f);
}

TEST(LoadConfig, MissingFileNamesThePath) {
  StatusOr<RunConfig> config = LoadConfig("/nonexistent/run.prototxt", "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/run.prototxt"));
}

TEST(LoadConfig, UnknownFieldNamesFileLineAndField) {
  const std::string path = WriteTemp("unknown_field.prototxt",
                                     "model {\n  query { image_size: 32 }\n"
                                     "  item { widht: 64 }\n}\n");
  StatusOr<RunConfig> config = LoadConfig(path, "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path + ":3:10: model.item.widht"));
}

TEST(LoadConfig, WrongTypeNamesLineColumnAndField) {
  const std::string path = WriteTemp("wrong_type.prototxt",
                                     "# a comment { with braces }\n"
                                     "model { text { vocab_size: 10 heads: \"four\" } }\n");
  StatusOr<RunConfig> config = LoadConfig(path, "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path + ":2:38"));
  EXPECT_THAT(config.status().message(), HasSubstr("model.text.heads"));
}

TEST(LoadConfig, BadEnumNamesTheField) {
  const std::string path = WriteTemp("bad_enum.prototxt", "train {\n  precision: FP16\n}\n");
  StatusOr<RunConfig> config = LoadConfig(path, "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path + ":2:3: train.precision"));
  EXPECT_THAT(config.status().message(), HasSubstr("FP16"));
}

TEST(LoadConfig, ValidationErrorsNameTheFile) {
  const std::string path = WriteTemp("no_model.prototxt", "train { steps: 3 }\n");
  StatusOr<RunConfig> config = LoadConfig(path, "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("model: missing"));
}

TEST(Overrides, SetNestedScalars) {
  const RunConfig config = Tiny(
      "model.text.heads=8, train.steps=10,model.teacher.width=64,optim.lr=2.5e-3,"
      "train.seed=12345678901,data.train_shards=x.tar");
  EXPECT_EQ(config.model().text().heads(), 8);
  EXPECT_EQ(config.train().steps(), 10);
  EXPECT_EQ(config.model().teacher().width(), 64);
  EXPECT_FLOAT_EQ(config.optim().lr(), 2.5e-3f);
  EXPECT_EQ(config.train().seed(), 12345678901);
  ASSERT_EQ(config.data().train_shards_size(), 1);
  EXPECT_EQ(config.data().train_shards(0), "x.tar");
}

TEST(Overrides, CreateAbsentSubMessage) {
  RunConfig config;
  ASSERT_FALSE(config.has_dist());
  ASSERT_TRUE(ApplyOverrides("dist.backend=mpi,export.onnx_opset=13", &config).ok());
  EXPECT_TRUE(config.has_dist());
  EXPECT_EQ(config.dist().backend(), "mpi");
  EXPECT_EQ(config.export_().onnx_opset(), 13);
  EXPECT_FALSE(config.has_model());
}

TEST(Overrides, EnumBoolAndStrings) {
  const RunConfig config = Tiny("train.precision=BF16,train.device=auto,dist.backend=local");
  EXPECT_EQ(config.train().precision(), BF16);
  EXPECT_EQ(config.train().device(), "auto");
  EXPECT_EQ(config.dist().backend(), "local");
}

TEST(Overrides, RepeatedFieldIsReplaced) {
  const RunConfig config =
      Tiny("data.mean=0.5;0.4;0.3,data.train_shards=a-{000..003}.tar;b/{x,y}.tar");
  ASSERT_EQ(config.data().mean_size(), 3);
  EXPECT_FLOAT_EQ(config.data().mean(0), 0.5f);
  EXPECT_FLOAT_EQ(config.data().mean(1), 0.4f);
  EXPECT_FLOAT_EQ(config.data().mean(2), 0.3f);
  ASSERT_EQ(config.data().train_shards_size(), 2);
  EXPECT_EQ(config.data().train_shards(0), "a-{000..003}.tar");
  EXPECT_EQ(config.data().train_shards(1), "b/{x,y}.tar");

  RunConfig twice = config;
  ASSERT_TRUE(ApplyOverrides("data.train_shards=c.tar", &twice).ok());
  ASSERT_EQ(twice.data().train_shards_size(), 1);
  EXPECT_EQ(twice.data().train_shards(0), "c.tar");
}

TEST(Overrides, TeacherNoneDisablesDistillation) {
  const RunConfig config = Tiny("model.teacher=none");
  EXPECT_FALSE(config.model().has_teacher());
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(Overrides, ErrorsNameTheOverride) {
  struct Case {
    std::string override_text, expected;
  };
  const Case cases[] = {
      {"model.txt.heads=4", "unknown field 'txt'"},
      {"model.text.heads=four", "is not an int32"},
      {"model.text.heads=4.5", "is not an int32"},
      {"model.text.heads=99999999999", "is not an int32"},
      {"optim.lr=fast", "is not a finite float"},
      {"optim.lr=nan", "is not a finite float"},
      {"train.precision=FP16", "is not one of"},
      {"data.mean=0.5;x;0.3", "'x' is not a finite float"},
      {"model.text=3", "is a section"},
      {"model.text.heads.x=3", "is a value, not a section"},
      {"model.text.heads", "expected path=value"},
      {"model..heads=3", "empty field name"},
  };
  for (const Case& c : cases) {
    const Status status = LoadError(c.override_text);
    ASSERT_FALSE(status.ok()) << c.override_text;
    EXPECT_THAT(status.message(), HasSubstr("override '" + c.override_text + "'"));
    EXPECT_THAT(status.message(), HasSubstr(c.expected)) << c.override_text;
  }
}

// Defect: empty items were skipped, so a typo such as `train.steps=5,,` passed silently.
TEST(Overrides, EmptyItemsAreErrors) {
  RunConfig config;
  const Status commas = ApplyOverrides("train.steps=5,,", &config);
  ASSERT_FALSE(commas.ok());
  EXPECT_THAT(commas.message(), HasSubstr("override 2 of 'train.steps=5,,' is empty"));
  EXPECT_FALSE(config.has_train());
  const Status leading = ApplyOverrides(",train.steps=5", &config);
  ASSERT_FALSE(leading.ok());
  EXPECT_THAT(leading.message(), HasSubstr("override 1 of"));
  const Status element = ApplyOverrides("data.mean=0.5;;0.3", &config);
  ASSERT_FALSE(element.ok());
  EXPECT_THAT(element.message(), HasSubstr("data.mean: empty element"));
  EXPECT_TRUE(ApplyOverrides("  ", &config).ok());
  EXPECT_TRUE(ApplyOverrides("train.steps=5, train.seed=3", &config).ok());
}

// FillDependentDefaults ran before validation and filled data.mean/std with one value per
// channel: 2^31 channels ground through 16 GB before the limit could report the field.
TEST(Overrides, HugeChannelCountIsReportedNotFilled) {
  const Status status = LoadError("model.query.channels=2147483647");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("model.query.channels: 2147483647 exceeds the limit 64"));
}

TEST(Overrides, FailedOverrideLeavesConfigUntouched) {
  RunConfig config;
  EXPECT_FALSE(ApplyOverrides("dist.backend=mpi,model.teacher.widht=3", &config).ok());
  EXPECT_FALSE(config.has_dist());
  EXPECT_FALSE(config.has_model());
}

TEST(Overrides, ValuesAreValidatedAfterwards) {
  const Status status = LoadError("model.text.heads=5");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("model.text.heads: 5 does not divide width 48"));
}

TEST(ConfigToText, WritesDefaultsAndRoundTrips) {
  const RunConfig config = Tiny("model.teacher=none");
  const std::string text = ConfigToText(config);
  EXPECT_THAT(text, HasSubstr("tau_map: 0.05"));  // a default, written out
  EXPECT_THAT(text, HasSubstr("bucket_mb: 25"));  // from an absent section
  EXPECT_THAT(text, ::testing::Not(HasSubstr("teacher {")));
  StatusOr<RunConfig> reread = ParseConfigText(text, "manifest");
  ASSERT_TRUE(reread.ok()) << reread.status().message();
  EXPECT_EQ(ConfigToText(reread.value()), text);
  EXPECT_TRUE(reread->dist().has_bucket_mb());
  EXPECT_EQ(reread->model().text().width(), 48);
  EXPECT_FALSE(reread->model().has_teacher());
}

// train.attention: AUTO by default and written out; every value parses from --set and survives
// the text round trip (a manifest's config), and a misspelt one is an error naming the field.
TEST(TrainAttention, DefaultsToAutoAndRoundTrips) {
  const RunConfig defaults = Tiny();
  EXPECT_EQ(defaults.train().attention(), TrainConfig::AUTO);
  EXPECT_THAT(ConfigToText(defaults), HasSubstr("attention: AUTO"));
  for (const char* value : {"AUTO", "CUDNN", "FLASH", "UNFUSED"}) {
    SCOPED_TRACE(value);
    const RunConfig config = Tiny(std::string("train.attention=") + value);
    EXPECT_EQ(TrainConfig::Attention_Name(config.train().attention()), value);
    const std::string text = ConfigToText(config);
    EXPECT_THAT(text, HasSubstr(std::string("attention: ") + value));
    StatusOr<RunConfig> reread = ParseConfigText(text, "manifest");
    ASSERT_TRUE(reread.ok()) << reread.status().message();
    EXPECT_EQ(reread->train().attention(), config.train().attention());
    EXPECT_EQ(ConfigToText(reread.value()), text);
  }
}

TEST(TrainAttention, UnknownValueNamesTheField) {
  const Status status = LoadError("train.attention=SDPA");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("train.attention"));
  const std::string path = WriteTemp("bad_attention.prototxt", "train {\n  attention: FUSED\n}\n");
  StatusOr<RunConfig> config = LoadConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path + ":2:3: train.attention"));
}

}  // namespace
}  // namespace tigerfg::config
