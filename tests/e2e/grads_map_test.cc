// tests/e2e/grads_map_test.cc — `tigerfg grads` writes the grounding map out/ground_map whenever
// the model grounds, also without a teacher (no SRD term).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "runtime/core/buffer.h"
#include "runtime/core/rng.h"
#include "runtime/core/safetensors.h"
#include "tests/testing/shell.h"

namespace tigerfg {
namespace {

using testing::Shell;
using testing::ShellResult;
using testing::TempDir;

const std::string kBinary = "OMP_WAIT_POLICY=passive " + std::string(TIGERFG_BINARY);
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

// A batch of the tiny config (32x32 images, titles of 8 ids) with B rows.
Status WriteTinyBatch(const std::string& path, int64_t b) {
  Rng rng(/*seed=*/5, 0);
  Buffer query(DType::kF32, Shape{b, 3, 32, 32}), item(DType::kF32, Shape{b, 3, 32, 32});
  for (Buffer* images : {&query, &item})
    for (int64_t i = 0; i < images->numel(); ++i)
      images->f32()[i] = static_cast<float>(rng.Uniform() - 0.5);
  Buffer titles(DType::kI64, Shape{b, 8});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t t = 0; t < 8; ++t) titles.i64()[i * 8 + t] = t < 5 ? 2 + (i * 7 + t) % 100 : 0;
  return WriteSafetensors(path, {{"query_images", query.tensor()},
                                 {"item_images", item.tensor()},
                                 {"title_ids", titles.tensor()}});
}

TEST(Grads, WritesGroundMapWithoutTeacher) {
  const std::string dir = TempDir("grads_map");
  const std::string no_teacher = " --config " + kTiny + " --set model.teacher=none";
  ShellResult train =
      Shell(kBinary + " train" + no_teacher + " --steps 1 --out_dir " + dir + "/run");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  ASSERT_TRUE(WriteTinyBatch(dir + "/b.st", 4).ok());
  ShellResult grads =
      Shell(kBinary + " grads" + no_teacher + " --weights " + dir +
            "/run/final.safetensors --batch " + dir + "/b.st --out " + dir + "/g.st");
  ASSERT_EQ(grads.exit_code, 0) << grads.output;
  EXPECT_EQ(grads.output.find("srd"), std::string::npos) << grads.output;
  StatusOr<TensorFile> g = ReadSafetensors(dir + "/g.st");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_FALSE(g->Has("loss/srd"));
  ASSERT_TRUE(g->Has("out/ground_map"));
  const Buffer& map = g->tensors.at("out/ground_map");
  ASSERT_EQ(map.shape(), Shape({4, 16}));  // 4 rows, (32 / 8)^2 patches
  for (int64_t i = 0; i < 4; ++i) {
    double row = 0;
    for (int64_t n = 0; n < 16; ++n) row += map.f32()[i * 16 + n];
    EXPECT_NEAR(row, 1.0, 1e-4) << "row " << i;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tigerfg
