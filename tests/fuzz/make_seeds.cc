// tests/fuzz/make_seeds.cc — writes the fuzz targets' seed corpora (small valid inputs) with the
// project's own writers: `make_seeds SOURCE_DIR OUT_DIR` fills OUT_DIR/<target>/ (cluster/fuzz.sh
// --seeds regenerates tests/fuzz/corpus with it).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "configs/config.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/core/safetensors.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/tar_writer.h"
#include "tests/fuzz/checkpoint_input.h"

namespace tigerfg::fuzz {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Put(const std::string& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary | std::ios::trunc) << bytes;
}

void Check(const Status& st) {
  if (!st.ok()) {
    std::fprintf(stderr, "make_seeds: %s\n", st.message().c_str());
    std::exit(1);
  }
}

data::Image Gradient(int h, int w, int c) {
  data::Image img(h, w, c);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
  return img;
}

std::string Jpeg(int h, int w, int c) {
  auto bytes = data::EncodeJpeg(Gradient(h, w, c), 75);
  Check(bytes.status());
  return *bytes;
}

void TarSeeds(const std::string& out, const std::string& scratch) {
  const std::string jpg = Jpeg(8, 8, 3);
  const std::vector<std::vector<std::pair<std::string, std::string>>> shards = {
      {{"s0.query.jpg", jpg}, {"s0.item.jpg", jpg}, {"s0.json", R"({"title":"a red shoe"})"}},
      {{std::string(120, 'd') + "/s1.txt", "long name through the ustar prefix"}, {"s2.txt", ""}}};
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string path = scratch + "/shard.tar";
    data::TarWriter w;
    Check(w.Open(path));
    for (const auto& [name, bytes] : shards[i]) Check(w.Add(name, bytes));
    Check(w.Close());
    Put(out + "/tar", "shard" + std::to_string(i) + ".tar", ReadFile(path));
  }
}

void SafetensorsSeeds(const std::string& out, const std::string& scratch) {
  Buffer f32(DType::kF32, Shape{2, 3}), ids(DType::kI64, Shape{4}), bytes(DType::kU8, Shape{5});
  Buffer empty(DType::kF32, Shape{0, 3}), scalar(DType::kBF16, Shape{});
  for (int i = 0; i < 6; ++i) f32.f32()[i] = 0.5f * i;
  for (int i = 0; i < 4; ++i) ids.i64()[i] = i - 1;
  const std::string path = scratch + "/seed.safetensors";
  Check(WriteSafetensors(path, {{"w", f32}}));
  Put(out + "/safetensors", "one.safetensors", ReadFile(path));
  Check(WriteSafetensors(
      path,
      {{"query_images", f32}, {"title_ids", ids}, {"u8", bytes}, {"empty", empty}, {"s", scalar}},
      {{"step", "12"}}));
  Put(out + "/safetensors", "mixed.safetensors", ReadFile(path));
}

void CheckpointSeeds(const std::string& source, const std::string& out,
                     const std::string& scratch) {
  auto cfg = config::LoadConfig(source + "/configs/tiny_cpu.prototxt");
  Check(cfg.status());
  const ParamTable table = CheckpointFuzzTable();
  std::vector<float> params(table.total_numel()), m(table.trainable_numel()),
      v(table.trainable_numel());
  for (size_t i = 0; i < params.size(); ++i) params[i] = 0.25f * static_cast<float>(i);
  for (size_t i = 0; i < m.size(); ++i) m[i] = v[i] = 1.0f / (1 + i);
  train::CheckpointState state{.step = 3,
                               .cursor = 24,
                               .world_size = 1,
                               .params = params.data(),
                               .m = m.data(),
                               .v = v.data()};
  auto dir = train::SaveCheckpoint(scratch + "/ckpt", *cfg, table, state, {});
  Check(dir.status());
  CheckpointFiles f{ReadFile(*dir + "/" + train::kManifestFile),
                    ReadFile(*dir + "/" + train::kParamsFile),
                    ReadFile(*dir + "/" + train::kOptimizerFile)};
  Put(out + "/checkpoint", "step3.bin", PackCheckpoint(f));
}

void ConfigSeeds(const std::string& source, const std::string& out) {
  const std::string tiny = ReadFile(source + "/configs/tiny_cpu.prototxt");
  Put(out + "/config", "tiny.txt", tiny);
  Put(out + "/config", "tiny_set.txt",
      tiny + std::string(1, '\0') +
          "train.steps=5,model.teacher=none,data.mean=0.5;0.4;0.3,"
          "data.train_shards=s-{0..3}.tar;t-{a,b}.tar,train.precision=BF16");
  Put(out + "/config", "small.txt", ReadFile(source + "/configs/small_cpu.prototxt"));
}

void WordpieceSeeds(const std::string& out) {
  Put(out + "/wordpiece", "vocab.txt",
      "[PAD]\n[UNK]\n[CLS]\n[SEP]\nred\nshoe\n##s\nblue\n,\nx\n##x\n\xe4\xb8\xad\ncaf\xc3\xa9\n");
  Put(out + "/wordpiece", "vocab_crlf.txt", "[PAD]\r\n[CLS]\r\n[UNK]\r\nhello\r\n##lo\r\n");
}

void JpegSeeds(const std::string& out) {
  Put(out + "/jpeg", "rgb8x8.jpg", Jpeg(8, 8, 3));
  Put(out + "/jpeg", "rgb17x9.jpg", Jpeg(17, 9, 3));
  Put(out + "/jpeg", "gray16x16.jpg", Jpeg(16, 16, 1));
}

}  // namespace
}  // namespace tigerfg::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds SOURCE_DIR OUT_DIR\n");
    return 2;
  }
  namespace f = tigerfg::fuzz;
  const std::string source = argv[1], out = argv[2];
  const std::string scratch = out + "/.scratch";
  std::filesystem::create_directories(scratch);
  f::TarSeeds(out, scratch);
  f::SafetensorsSeeds(out, scratch);
  f::CheckpointSeeds(source, out, scratch);
  f::ConfigSeeds(source, out);
  f::WordpieceSeeds(out);
  f::JpegSeeds(out);
  std::filesystem::remove_all(scratch);
  return 0;
}
