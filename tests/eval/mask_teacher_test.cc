// tests/eval/mask_teacher_test.cc — the teacher check with model.srd_target MASK: the product box
// as SRD's target map, measured on a hand-made gallery like a teacher's map (its mass on the
// product patches against a uniform map's), with no teacher weights.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "configs/config.h"
#include "runtime/data/image.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/shard_index.h"
#include "runtime/data/tar_writer.h"
#include "runtime/eval/evaluate.h"
#include "runtime/eval/teacher_check.h"

namespace tigerfg::eval {
namespace {

// A gallery of two listings on 64 px canvases: box [0, 0, 32, 32) (4 whole patches of a 4x4
// grid) and box [8, 8, 36, 36) (grid units [0.5, 2.25): 9 patches touched, 3 of them by under
// a quarter of a patch).
class MaskTeacherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/mask_teacher_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    data::TarWriter tar;
    ASSERT_TRUE(tar.Open(dir_ + "/gallery-000000.tar").ok());
    const std::string jpeg = data::EncodeJpeg(data::Image(8, 8, 3)).value();
    const char* boxes[] = {"[0, 0, 32, 32]", "[8, 8, 36, 36]"};
    for (int i = 0; i < 2; ++i) {
      const std::string key = "g" + std::to_string(i);
      ASSERT_TRUE(tar.Add(key + ".item.jpg", jpeg).ok());
      ASSERT_TRUE(
          tar.Add(key + ".json", "{\"title\": \"red shirt\", \"product_id\": " + std::to_string(i) +
                                     ", \"target_box\": " + boxes[i] + ", \"image_size\": 64}")
              .ok());
    }
    ASSERT_TRUE(tar.Close().ok());
    ASSERT_TRUE(data::WriteShardIndex(dir_ + "/gallery-000000.tar").ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

// Listing 0: all of its map on the product (1.0), uniform 4/16. Listing 1: the box covers 1.75²
// = 3.0625 patch areas, 0.3125 of them on the 3 patches it covers by under a quarter, so
// 2.75 / 3.0625 on the product; uniform 6/16.
constexpr double kOnProduct = (1.0 + 2.75 / 3.0625) / 2, kUniform = (4.0 / 16 + 6.0 / 16) / 2;

TEST_F(MaskTeacherTest, MassOfTheBoxMapOnTheProductPatches) {
  config::ModelConfig model;
  model.mutable_item()->set_image_size(32);  // any size: the box scales onto the 4x4 grid
  model.mutable_item()->set_patch_size(8);
  StatusOr<ProductMass> mass = MeasureMaskTeacherMass(model, dir_);
  ASSERT_TRUE(mass.ok()) << mass.status().message();
  EXPECT_EQ(mass->listings, 2);
  EXPECT_NEAR(mass->on_product, kOnProduct, 1e-6);
  EXPECT_NEAR(mass->uniform, kUniform, 1e-12);
  EXPECT_THAT(DescribeTeacherMass(*mass, /*mask=*/true), ::testing::HasSubstr("upper bound"));
}

TEST_F(MaskTeacherTest, TeacherCheckMeasuresTheMaskWithoutWeights) {
  StatusOr<config::RunConfig> cfg =
      config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt",
                         "model.srd_target=MASK,model.teacher=none");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  StatusOr<std::vector<ProductMass>> masses = RunTeacherCheck(*cfg, {dir_}, {});
  ASSERT_TRUE(masses.ok()) << masses.status().message();
  ASSERT_EQ(masses->size(), 1u);
  EXPECT_NEAR((*masses)[0].on_product, kOnProduct, 1e-6);
  EXPECT_FALSE(TeacherBelowUniform((*masses)[0]));
  // The default target still needs the teacher's weights.
  cfg->mutable_model()->set_srd_target(config::ModelConfig::TEACHER_MAP);
  StatusOr<std::vector<ProductMass>> none = RunTeacherCheck(*cfg, {dir_}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), ::testing::HasSubstr("--teacher_weights"));
}

}  // namespace
}  // namespace tigerfg::eval
