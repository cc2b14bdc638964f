// tests/core/safetensors_test.cc — safetensors round trips, interop with the spec's reader,
// and every kind of damaged file as an error naming the file.
#include "runtime/core/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/core/rng.h"

namespace tigerfg {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("tigerfg_st_" + std::to_string(getpid()) + "_" + name))
      .string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  Rng rng(1);
  Buffer a(DType::kF32, Shape{3, 5});
  rng.FillNormal(a.tensor());
  Buffer ids(DType::kI64, Shape{4});
  for (int i = 0; i < 4; ++i) ids.i64()[i] = -7 + 1000000000000ll * i;
  Buffer scalar(DType::kF32, Shape{});
  scalar.f32()[0] = 2.5f;
  Buffer empty(DType::kF32, Shape{0, 3});
  const std::string path = TempPath("roundtrip.safetensors");
  ASSERT_TRUE(WriteSafetensors(path,
                               {{"b/weights", a}, {"a_ids", ids}, {"s", scalar}, {"e", empty}},
                               {{"step", "12"}})
                  .ok());
  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->metadata.at("step"), "12");
  auto t = file->Get("b/weights", DType::kF32, Shape{3, 5});
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t->f32()[i], a.f32()[i]);
  auto ti = file->Get("a_ids", DType::kI64, Shape{4});
  ASSERT_TRUE(ti.ok());
  EXPECT_EQ(ti->i64()[3], ids.i64()[3]);
  auto ts = file->Get("s", DType::kF32, Shape{});
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->f32()[0], 2.5f);
  EXPECT_TRUE(file->Get("e", DType::kF32, Shape{0, 3}).ok());
  std::remove(path.c_str());
}

TEST(Safetensors, GetNamesTheTensorAndTheMismatch) {
  Buffer a(DType::kF32, Shape{2, 2});
  const std::string path = TempPath("get.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", a}}).ok());
  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok());
  auto missing = file->Get("v", DType::kF32, Shape{2, 2});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing tensor v"), std::string::npos);
  auto shape = file->Get("w", DType::kF32, Shape{4});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("[2, 2]"), std::string::npos);
  auto dtype = file->Get("w", DType::kI64, Shape{2, 2});
  ASSERT_FALSE(dtype.ok());
  EXPECT_NE(dtype.status().message().find("I64"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Safetensors, DamagedFilesAreErrorsNamingTheFile) {
  Buffer a(DType::kF32, Shape{64});
  const std::string good = TempPath("good.safetensors");
  ASSERT_TRUE(WriteSafetensors(good, {{"w", a}}).ok());
  const std::string bytes = ReadAll(good);
  const std::string bad = TempPath("bad.safetensors");
  struct Case {
    std::string what, content, expect;
  };
  std::string huge_len = bytes;
  huge_len[5] = '\x7f';
  std::string not_json = bytes;
  not_json[8] = '#';
  const std::vector<Case> cases = {
      {"truncated data", bytes.substr(0, bytes.size() - 10), "outside the data"},
      {"short file", bytes.substr(0, 5), "too short"},
      {"header length too large", huge_len, "exceeds the file"},
      {"header not JSON", not_json, "not JSON"},
  };
  for (const Case& c : cases) {
    WriteAll(bad, c.content);
    auto file = ReadSafetensors(bad);
    ASSERT_FALSE(file.ok()) << c.what;
    EXPECT_NE(file.status().message().find(bad), std::string::npos) << c.what;
    EXPECT_NE(file.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << file.status().message();
  }
  EXPECT_FALSE(ReadSafetensors(TempPath("does_not_exist")).ok());
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

// A file of `header` (padded JSON) followed by `data_bytes` zero bytes.
std::string CraftedFile(std::string header, size_t data_bytes) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

// Defect: an element count or byte size that overflows int64 wrapped to a tiny allocation
// (the data_offsets matched the wrapped size), which was then written past (SIGSEGV).
TEST(Safetensors, ShapesWhoseSizeOverflowsAreErrorsNamingTheTensor) {
  const std::string bad = TempPath("overflow.safetensors");
  struct Case {
    std::string what, header, expect;
  };
  const std::vector<Case> cases = {
      {"element count wraps to 0",
       R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
       "overflows"},
      {"byte size wraps to 0",
       R"({"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "overflows"},
      {"element count wraps to 16",
       R"({"x":{"dtype":"U8","shape":[4,4611686018427387908],"data_offsets":[0,16]}})",
       "overflows"},
      {"dimension above INT64_MAX",
       R"({"x":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,16]}})",
       "bad shape entry"},
      {"end before begin", R"({"x":{"dtype":"U8","shape":[0],"data_offsets":[16,8]}})",
       "outside the data"},
      {"end past the data", R"({"x":{"dtype":"U8","shape":[32],"data_offsets":[0,32]}})",
       "outside the data"},
      {"negative offset", R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}})",
       "bad data_offsets"},
      {"too many dimensions",
       R"({"x":{"dtype":"U8","shape":[1,1,1,1,1,1,1],"data_offsets":[0,1]}})",
       "too many dimensions"},
  };
  for (const Case& c : cases) {
    WriteAll(bad, CraftedFile(c.header, 16));
    auto file = ReadSafetensors(bad);
    ASSERT_FALSE(file.ok()) << c.what;
    EXPECT_NE(file.status().message().find(bad + ": tensor x"), std::string::npos)
        << c.what << ": " << file.status().message();
    EXPECT_NE(file.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << file.status().message();
  }
  std::remove(bad.c_str());
}

// The spec's own reader and writer (tests/reference/tigerfg_ref.py, PyTorch) agree with ours.
TEST(Safetensors, InteroperatesWithTheSpec) {
  const std::string spec = std::string(TIGERFG_SOURCE_DIR) + "/tests/reference/tigerfg_ref.py";
  if (!std::filesystem::exists(spec) ||
      std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null"))
    GTEST_SKIP() << "the spec or python3-torch is not available";
  const std::string ours = TempPath("ours.safetensors");
  const std::string theirs = TempPath("theirs.safetensors");
  Buffer a(DType::kF32, Shape{2, 3});
  for (int i = 0; i < 6; ++i) a.f32()[i] = 0.5f * i - 1;
  ASSERT_TRUE(WriteSafetensors(ours, {{"x", a}}).ok());
  const std::string cmd =
      "cd " + std::filesystem::path(spec).parent_path().string() +
      " && /usr/bin/python3 -c \"import torch, tigerfg_ref as r; t = r.load_safetensors('" + ours +
      "'); assert t['x'].shape == (2, 3) and float(t['x'][1, 2]) == 1.5; "
      "r.save_safetensors('" +
      theirs + "', {'y': t['x'] * 2, 'ids': torch.arange(5), 'h': t['x'].bfloat16()})\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto file = ReadSafetensors(theirs);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto y = file->Get("y", DType::kF32, Shape{2, 3});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->f32()[5], 3.0f);
  auto ids = file->Get("ids", DType::kI64, Shape{5});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->i64()[4], 4);
  EXPECT_TRUE(file->Get("h", DType::kBF16, Shape{2, 3}).ok());
  std::remove(ours.c_str());
  std::remove(theirs.c_str());
}

}  // namespace
}  // namespace tigerfg
