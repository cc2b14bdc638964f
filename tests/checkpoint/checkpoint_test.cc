// tests/checkpoint/checkpoint_test.cc — checkpoint round trip, every kind of corruption (truncated
// file, flipped byte, other model, missing tensor, missing file) loading nothing, `latest`
// semantics and keep_last pruning; a checkpoint of the packed layout (before the parameter table
// aligned its offsets) is the same files and loads.
#include "runtime/checkpoint/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "configs/config.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/core/rng.h"

namespace tigerfg::train {
namespace {

namespace fs = std::filesystem;

// alignment: ParamTable's default (tensors at 64-float offsets), or 1 for the packed layout of
// checkpoints written before the alignment.
ParamTable SmallTable(int64_t width = 4, int64_t alignment = kParamAlignment) {
  ParamTable t(alignment);
  t.Add("fc.weight", Shape{3, width}, /*trainable=*/true, /*decay=*/true);
  t.Add("fc.bias", Shape{width}, /*trainable=*/true, /*decay=*/false);
  t.Add("teacher.fc.weight", Shape{2, 2}, /*trainable=*/false, /*decay=*/true);
  return t;
}

config::RunConfig TinyConfig() {
  auto cfg = config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt");
  CHECK(cfg.ok()) << cfg.status().message();
  return *cfg;
}

// A flat buffer laid out by `table` ([total_numel], or [trainable_numel] when `trainable_only`):
// random tensors, zero alignment gaps (as the model's buffers keep them).
std::vector<float> RandomTensors(const ParamTable& table, bool trainable_only, uint64_t seed) {
  std::vector<float> v(trainable_only ? table.trainable_numel() : table.total_numel(), 0.0f);
  Rng rng(seed);
  for (const ParamSpec& p : table.params()) {
    if (trainable_only && !p.trainable) continue;
    for (int64_t i = 0; i < p.numel(); ++i) v[p.offset + i] = static_cast<float>(rng.Normal());
  }
  return v;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() /
             ("tigerfg_ckpt_" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
              std::to_string(getpid())))
                .string();
    fs::remove_all(root_);
    params_ = RandomTensors(table_, /*trainable_only=*/false, 1);
    m_ = RandomTensors(table_, /*trainable_only=*/true, 2);
    v_ = RandomTensors(table_, /*trainable_only=*/true, 3);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Save(int64_t step, int keep_last = 2) {
    return SaveFrom(root_, table_, params_, m_, v_, step, keep_last);
  }
  // A checkpoint of the flat buffers p, m, v laid out by `table`.
  std::string SaveFrom(const std::string& root, const ParamTable& table,
                       const std::vector<float>& p, const std::vector<float>& m,
                       const std::vector<float>& v, int64_t step, int keep_last = 2) {
    CheckpointState state{.step = step,
                          .cursor = step * 8,
                          .world_size = 2,
                          .params = p.data(),
                          .m = m.data(),
                          .v = v.data()};
    CheckpointWriteOptions options;
    options.keep_last = keep_last;
    auto dir = SaveCheckpoint(root, cfg_, table, state, options);
    CHECK(dir.ok()) << dir.status().message();
    return *dir;
  }

  // Loads into buffers filled with a sentinel; on failure they must still hold only it.
  Status LoadExpectingAllOrNothing(const std::string& dir, const ParamTable& table) {
    std::vector<float> p(table.total_numel(), -7.0f), m(table.trainable_numel(), -7.0f),
        v(table.trainable_numel(), -7.0f);
    auto loaded = LoadCheckpoint(dir, table, p.data(), m.data(), v.data());
    if (!loaded.ok()) {
      for (const auto* buf : {&p, &m, &v})
        for (float x : *buf) EXPECT_EQ(x, -7.0f) << "a failed load wrote into the buffers";
      return loaded.status();
    }
    return Status::Ok();
  }

  const ParamTable table_ = SmallTable();
  const config::RunConfig cfg_ = TinyConfig();
  std::string root_;
  std::vector<float> params_, m_, v_;
};

TEST_F(CheckpointTest, RoundTripIsBitExact) {
  const std::string dir = Save(5);
  EXPECT_EQ(fs::path(dir).filename(), "step-00000005");
  std::vector<float> p(table_.total_numel()), m(table_.trainable_numel()),
      v(table_.trainable_numel());
  auto loaded = LoadCheckpoint(dir, table_, p.data(), m.data(), v.data());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->step, 5);
  EXPECT_EQ(loaded->cursor, 40);
  EXPECT_EQ(loaded->world_size, 2);
  EXPECT_EQ(0, std::memcmp(p.data(), params_.data(), p.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(m.data(), m_.data(), m.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(v.data(), v_.data(), v.size() * sizeof(float)));

  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_TRUE(VerifyCheckpoint(dir, *manifest).ok());
  EXPECT_TRUE(CheckSameModel(*manifest, cfg_.model()).ok());
  // 3 parameters, m and v of the 2 trainable ones.
  EXPECT_EQ(manifest->tensors_size(), 7);
  // Parameters only (m, v null), as eval and embed load them.
  std::vector<float> p2(table_.total_numel());
  ASSERT_TRUE(LoadCheckpoint(dir, table_, p2.data(), nullptr, nullptr).ok());
  EXPECT_EQ(p2, params_);
}

// A checkpoint written before the parameter table aligned its offsets (the packed layout): the
// files hold tensors by name, so they are byte for byte those of the aligned layout, and load into
// it tensor by tensor.
TEST_F(CheckpointTest, PackedLayoutCheckpointIsTheSameFilesAndLoads) {
  const ParamTable packed = SmallTable(/*width=*/4, /*alignment=*/1);
  ASSERT_NE(packed.Get("fc.bias").offset, table_.Get("fc.bias").offset);
  auto to_packed = [&](const std::vector<float>& flat, bool trainable_only) {
    std::vector<float> out(trainable_only ? packed.trainable_numel() : packed.total_numel());
    for (const ParamSpec& p : packed.params()) {
      if (trainable_only && !p.trainable) continue;
      std::copy_n(flat.data() + table_.Get(p.name).offset, p.numel(), out.data() + p.offset);
    }
    return out;
  };
  const std::string old_dir = SaveFrom(root_ + "/packed", packed, to_packed(params_, false),
                                       to_packed(m_, true), to_packed(v_, true), /*step=*/3);
  const std::string new_dir = Save(3);
  for (const char* file : {kParamsFile, kOptimizerFile}) {
    EXPECT_EQ(ReadFile(old_dir + "/" + file), ReadFile(new_dir + "/" + file)) << file;
  }
  auto old_manifest = ReadManifest(old_dir), new_manifest = ReadManifest(new_dir);
  ASSERT_TRUE(old_manifest.ok() && new_manifest.ok());
  EXPECT_EQ(old_manifest->tensors_size(), new_manifest->tensors_size());
  for (int i = 0; i < std::min(old_manifest->tensors_size(), new_manifest->tensors_size()); ++i) {
    EXPECT_EQ(old_manifest->tensors(i).SerializeAsString(),
              new_manifest->tensors(i).SerializeAsString())
        << old_manifest->tensors(i).name();
  }

  std::vector<float> p(table_.total_numel()), m(table_.trainable_numel()),
      v(table_.trainable_numel());
  auto loaded = LoadCheckpoint(old_dir, table_, p.data(), m.data(), v.data());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->step, 3);
  EXPECT_EQ(p, params_);  // every tensor, and zero gaps
  EXPECT_EQ(m, m_);
  EXPECT_EQ(v, v_);
}

// safetensors files (export, final.safetensors, --init_weights) likewise: the same bytes from
// either layout, and a file of the packed layout loads into the aligned one.
TEST_F(CheckpointTest, PackedLayoutSafetensorsAreTheSameFileAndLoad) {
  const ParamTable packed = SmallTable(/*width=*/4, /*alignment=*/1);
  std::vector<float> packed_params(packed.total_numel());
  for (const ParamSpec& p : packed.params()) {
    std::copy_n(params_.data() + table_.Get(p.name).offset, p.numel(),
                packed_params.data() + p.offset);
  }
  fs::create_directories(root_);
  const std::string old_file = root_ + "/packed.safetensors", new_file = root_ + "/new.safetensors";
  ASSERT_TRUE(SaveWeights(old_file, packed, packed_params.data()).ok());
  ASSERT_TRUE(SaveWeights(new_file, table_, params_.data()).ok());
  EXPECT_EQ(ReadFile(old_file), ReadFile(new_file));
  std::vector<float> p(table_.total_numel());
  const Status loaded = LoadWeights(old_file, table_, p.data(), /*require_all=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(p, params_);
}

TEST_F(CheckpointTest, TruncatedFileNamesFileAndTensorAndLoadsNothing) {
  const std::string dir = Save(1);
  const std::string file = dir + "/" + kParamsFile;
  fs::resize_file(file, fs::file_size(file) - 4);
  Status st = LoadExpectingAllOrNothing(dir, table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(kParamsFile), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("params/teacher.fc.weight"), std::string::npos) << st.message();
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  EXPECT_FALSE(VerifyCheckpoint(dir, *manifest).ok());
}

TEST_F(CheckpointTest, FlippedByteIsAChecksumErrorNamingFileAndTensor) {
  const std::string dir = Save(1);
  const std::string file = dir + "/" + kOptimizerFile;
  std::string bytes = ReadFile(file);
  // The optimizer file holds m (fc.weight 12, fc.bias 4 floats) then v: flip v's fc.bias.
  bytes[(12 + 4 + 12) * sizeof(float) + 1] ^= 0x10;
  WriteFile(file, bytes);
  Status st = LoadExpectingAllOrNothing(dir, table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(kOptimizerFile), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("adamw.v/fc.bias"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.message();
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  Status verified = VerifyCheckpoint(dir, *manifest);
  EXPECT_NE(verified.message().find("adamw.v/fc.bias"), std::string::npos) << verified.message();
}

// A manifest whose offset + length overflows int64 passed the bounds check (the sum wrapped
// negative) and the checksum then read far outside the file.
TEST_F(CheckpointTest, OverflowingTensorBoundsAreAnErrorNamingTheTensor) {
  const std::string dir = Save(1);
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  checkpoint::TensorEntry* t = manifest->mutable_tensors(0);
  // Its length stays right for its shape (checked first); offset + length wraps past int64.
  t->set_offset(INT64_MAX - 8);
  Status st = VerifyCheckpoint(dir, *manifest);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tensor " + t->name()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("beyond the end"), std::string::npos) << st.message();
  WriteFile(dir + "/" + kManifestFile, manifest->SerializeAsString());
  EXPECT_FALSE(LoadExpectingAllOrNothing(dir, table_).ok());
}

TEST_F(CheckpointTest, FileNamesOutsideTheDirectoryAreErrors) {
  const std::string dir = Save(1);
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  for (const char* name : {"../params.bin", "/dev/zero", "..", ""}) {
    checkpoint::Manifest edited = *manifest;
    edited.mutable_files(0)->set_name(name);
    Status st = VerifyCheckpoint(dir, edited);
    ASSERT_FALSE(st.ok()) << name;
    EXPECT_NE(st.message().find("is not a plain name"), std::string::npos) << st.message();
  }
}

// NaN or infinite weights loaded for --init_weights trained into "lower optim.lr?", and an
// export of them exited 0: LoadWeights refuses them, naming the file and the tensor.
TEST_F(CheckpointTest, NonFiniteWeightsAreAnErrorNamingFileAndTensor) {
  const std::string path = root_ + "_weights.safetensors";
  for (float bad : {std::nanf(""), INFINITY}) {
    std::vector<float> params = params_;
    params[table_.Get("fc.bias").offset + 2] = bad;
    ASSERT_TRUE(SaveWeights(path, table_, params.data()).ok());
    std::vector<float> loaded(table_.total_numel(), -7.0f);
    Status st = LoadWeights(path, table_, loaded.data(), /*require_all=*/true);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(path + ": tensor fc.bias holds a non-finite value"),
              std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("element 2"), std::string::npos) << st.message();
    for (float x : loaded) EXPECT_EQ(x, -7.0f) << "a failed load wrote into the buffer";
  }
  ASSERT_TRUE(SaveWeights(path, table_, params_.data()).ok());
  std::vector<float> loaded(table_.total_numel());
  EXPECT_TRUE(LoadWeights(path, table_, loaded.data(), /*require_all=*/true).ok());
  fs::remove(path);
}

TEST_F(CheckpointTest, AnotherModelShapeIsAnErrorNamingTheTensor) {
  const std::string dir = Save(1);
  Status st = LoadExpectingAllOrNothing(dir, SmallTable(/*width=*/5));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("params/fc.weight"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[3, 4]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[3, 5]"), std::string::npos) << st.message();

  // A table with a parameter the checkpoint lacks, and one lacking a parameter it has.
  ParamTable more = SmallTable();
  more.Add("extra.bias", Shape{2}, /*trainable=*/false, /*decay=*/false);
  st = LoadExpectingAllOrNothing(dir, more);
  EXPECT_NE(st.message().find("params/extra.bias"), std::string::npos) << st.message();
  ParamTable fewer;
  fewer.Add("fc.weight", Shape{3, 4}, true, true);
  fewer.Add("fc.bias", Shape{4}, true, false);
  st = LoadExpectingAllOrNothing(dir, fewer);
  EXPECT_NE(st.message().find("params/teacher.fc.weight"), std::string::npos) << st.message();

  // The config check names the differing field; train.steps may differ.
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  config::RunConfig other = cfg_;
  other.mutable_train()->set_steps(1000);
  EXPECT_TRUE(CheckSameModel(*manifest, other.model()).ok());
  other.mutable_model()->mutable_query()->set_width(96);
  st = CheckSameModel(*manifest, other.model());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("model.query.width"), std::string::npos) << st.message();
  other = cfg_;
  other.mutable_model()->clear_teacher();
  st = CheckSameModel(*manifest, other.model());
  EXPECT_NE(st.message().find("model.teacher"), std::string::npos) << st.message();
}

TEST_F(CheckpointTest, MissingTensorEntryOrFileIsAnError) {
  const std::string dir = Save(1);
  const std::string manifest_path = dir + "/" + kManifestFile;
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  checkpoint::Manifest without_bias = *manifest;
  without_bias.clear_manifest_crc32();                   // as an older writer would have written it
  without_bias.mutable_tensors()->DeleteSubrange(1, 1);  // params/fc.bias
  ASSERT_EQ(manifest->tensors(1).name(), "params/fc.bias");
  WriteFile(manifest_path, without_bias.SerializeAsString());
  Status st = LoadExpectingAllOrNothing(dir, table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("params/fc.bias"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(kManifestFile), std::string::npos) << st.message();

  checkpoint::Manifest unchecked = *manifest;
  unchecked.clear_manifest_crc32();
  WriteFile(manifest_path, unchecked.SerializeAsString());
  ASSERT_TRUE(LoadExpectingAllOrNothing(dir, table_).ok());
  fs::remove(dir + "/" + kOptimizerFile);
  st = LoadExpectingAllOrNothing(dir, table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(kOptimizerFile), std::string::npos) << st.message();

  WriteFile(manifest_path, "not a manifest");
  st = LoadExpectingAllOrNothing(dir, table_);
  EXPECT_NE(st.message().find(kManifestFile), std::string::npos) << st.message();
}

TEST_F(CheckpointTest, LatestNamesTheNewestAndKeepLastPrunes) {
  Save(1);
  Save(2);
  const std::string third = Save(3, /*keep_last=*/2);
  EXPECT_EQ(ReadFile(root_ + "/" + kLatestFile), "step-00000003\n");
  auto resolved = ResolveCheckpoint(root_);
  ASSERT_TRUE(resolved.ok()) << resolved.status().message();
  EXPECT_EQ(*resolved, third);
  EXPECT_EQ(*ResolveCheckpoint(root_ + "/" + kLatestFile), third);
  EXPECT_EQ(*ResolveCheckpoint(third), third);
  std::vector<std::string> names;
  for (const std::string& dir : ListCheckpoints(root_)) names.push_back(fs::path(dir).filename());
  EXPECT_EQ(names, (std::vector<std::string>{"step-00000002", "step-00000003"}));

  Save(4, /*keep_last=*/0);  // 0 keeps all
  EXPECT_EQ(ListCheckpoints(root_).size(), 3u);
  Save(5, /*keep_last=*/1);
  EXPECT_EQ(ListCheckpoints(root_), std::vector<std::string>{root_ + "/step-00000005"});
}

TEST_F(CheckpointTest, AnInterruptedSaveLeavesTheLastCompleteOneLatest) {
  const std::string complete = Save(2);
  // What a writer killed mid-save leaves: a temporary directory with part of the files.
  const std::string partial = root_ + "/.tmp-step-00000004";
  fs::create_directories(partial);
  WriteFile(partial + "/" + kParamsFile, "partial");
  EXPECT_EQ(*ResolveCheckpoint(root_), complete);
  EXPECT_EQ(ListCheckpoints(root_), std::vector<std::string>{complete});
  // The next save removes the leftovers.
  Save(4);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_EQ(fs::path(*ResolveCheckpoint(root_)).filename(), "step-00000004");
}

TEST_F(CheckpointTest, ResolveNamesWhatIsWrong) {
  fs::create_directories(root_ + "/empty");
  auto none = ResolveCheckpoint(root_ + "/empty");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find(root_ + "/empty"), std::string::npos);
  WriteFile(root_ + "/empty/latest", "step-00000009\n");
  auto dangling = ResolveCheckpoint(root_ + "/empty");
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.status().message().find("step-00000009"), std::string::npos)
      << dangling.status().message();
  WriteFile(root_ + "/empty/latest", "../../etc\n");
  EXPECT_FALSE(ResolveCheckpoint(root_ + "/empty").ok());
}

TEST_F(CheckpointTest, AnEditedManifestIsRefusedByItsChecksum) {
  const std::string dir = Save(3);
  const std::string path = dir + "/" + kManifestFile;
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  ASSERT_TRUE(manifest->has_manifest_crc32());
  checkpoint::Manifest edited = *manifest;
  edited.set_cursor(manifest->cursor() + 8);  // the data cursor moved by hand
  WriteFile(path, edited.SerializeAsString());
  auto refused = ReadManifest(dir);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(path), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("checksum"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(LoadExpectingAllOrNothing(dir, table_).ok());
  // A manifest written before the checksum existed is accepted (with a warning).
  edited.clear_manifest_crc32();
  WriteFile(path, edited.SerializeAsString());
  auto old = ReadManifest(dir);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->cursor(), manifest->cursor() + 8);
}

TEST_F(CheckpointTest, AStepDirectoryWithoutManifestIsRemovedByTheNextSave) {
  Save(1);
  const std::string half_deleted = Save(2);
  fs::remove(half_deleted + "/" + kManifestFile);  // a kill in the middle of pruning it
  EXPECT_EQ(ListCheckpoints(root_).size(), 1u);
  Save(3);
  EXPECT_FALSE(fs::exists(half_deleted));
}

TEST_F(CheckpointTest, PruningDropsAStaleLaterStepOfAnEarlierRun) {
  Save(7);  // an earlier run got to step 7
  const std::string earlier = Save(8);
  Save(1);
  Save(2, /*keep_last=*/2);
  std::vector<std::string> names;
  for (const std::string& dir : ListCheckpoints(root_)) names.push_back(fs::path(dir).filename());
  EXPECT_EQ(names, (std::vector<std::string>{"step-00000001", "step-00000002"}));
  EXPECT_FALSE(fs::exists(earlier));
  EXPECT_EQ(ReadFile(root_ + "/" + kLatestFile), "step-00000002\n");
}

TEST_F(CheckpointTest, ReplacingAStepKeepsACompleteCheckpointInPlace) {
  const std::string dir = Save(4);
  params_[0] += 1.0f;  // a later run writes step 4 again
  Save(4);
  std::vector<float> p(table_.total_numel()), m(table_.trainable_numel()),
      v(table_.trainable_numel());
  ASSERT_TRUE(LoadCheckpoint(dir, table_, p.data(), m.data(), v.data()).ok());
  EXPECT_EQ(p[0], params_[0]);
  // The fallback path's state after a kill between its two renames: the old checkpoint moved
  // aside, the new one not yet in place. Resume finds it, and the next save moves it back.
  const std::string aside = root_ + "/.tmp-replaced-step-00000004";
  fs::rename(dir, aside);
  auto resolved = ResolveCheckpoint(root_);
  ASSERT_TRUE(resolved.ok()) << resolved.status().message();
  EXPECT_EQ(*resolved, aside);
  Save(5, /*keep_last=*/2);
  EXPECT_TRUE(fs::is_regular_file(dir + "/" + kManifestFile));
  EXPECT_FALSE(fs::exists(aside));
}

TEST_F(CheckpointTest, VerifyChecksWhatResumeChecks) {
  const std::string dir = Save(1);
  const std::string path = dir + "/" + kManifestFile;
  auto manifest = ReadManifest(dir);
  ASSERT_TRUE(manifest.ok());
  ASSERT_TRUE(VerifyCheckpoint(dir, *manifest, &table_).ok());
  // A dtype resume would refuse.
  checkpoint::Manifest bf16 = *manifest;
  bf16.mutable_tensors(0)->set_dtype("BF16");
  Status st = VerifyCheckpoint(dir, bf16);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("dtype BF16"), std::string::npos) << st.message();
  // A byte length that does not match the shape (the bytes and crc32 still check out).
  checkpoint::Manifest short_len = *manifest;
  short_len.mutable_tensors(1)->set_length(manifest->tensors(1).length() - 4);
  short_len.mutable_tensors(1)->set_crc32(0);
  st = VerifyCheckpoint(dir, short_len);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bytes for shape"), std::string::npos) << st.message();
  // A missing and an extra tensor, against the model's table.
  checkpoint::Manifest missing = *manifest;
  missing.mutable_tensors()->DeleteSubrange(1, 1);
  st = VerifyCheckpoint(dir, missing, &table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("params/fc.bias"), std::string::npos) << st.message();
  checkpoint::Manifest extra = *manifest;
  *extra.add_tensors() = manifest->tensors(0);
  extra.mutable_tensors(extra.tensors_size() - 1)->set_name("params/other.weight");
  st = VerifyCheckpoint(dir, extra, &table_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("params/other.weight"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tigerfg::train
