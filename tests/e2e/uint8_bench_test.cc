// tests/e2e/uint8_bench_test.cc — `tigerfg bench --uint8_images`: the step runs on U8 pixel
// batches (normalised by the model) and reports a quarter of the F32 image bytes per step.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/testing/shell.h"

namespace {

using tigerfg::testing::Shell;
using tigerfg::testing::ShellResult;
using tigerfg::testing::TempDir;

const std::string kBinary = TIGERFG_BINARY;
const std::string kTiny = std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt";

nlohmann::json Bench(const std::string& out, const std::string& flags) {
  ShellResult r = Shell(kBinary + " bench --config " + kTiny + " --batch 4 --steps 2 --warmup 1 " +
                        flags + " --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(Uint8Bench, PixelBatchesStepAndMoveAQuarterOfTheBytes) {
  const std::string dir = TempDir("uint8_bench");
  const nlohmann::json f32 = Bench(dir + "/f32.json", "");
  const nlohmann::json u8 = Bench(dir + "/u8.json", "--uint8_images");
  EXPECT_EQ(f32["uint8_images"], false);
  EXPECT_EQ(u8["uint8_images"], true);
  // tiny_cpu: 32x32x3 query and item images, batch 4.
  EXPECT_EQ(f32["image_bytes_per_step"].get<int64_t>(), 2 * 32 * 32 * 3 * 4 * 4);
  EXPECT_EQ(u8["image_bytes_per_step"].get<int64_t>() * 4,
            f32["image_bytes_per_step"].get<int64_t>());
  EXPECT_TRUE(std::isfinite(u8["loss"].get<double>()));
  std::filesystem::remove_all(dir);
}

}  // namespace
