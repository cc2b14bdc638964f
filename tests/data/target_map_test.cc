// tests/data/target_map_test.cc — the mask teacher's target maps: a listing's product box as the
// share of each item patch it covers (normalised, mirrored with the item flip, moved with a
// mosaic cell), read from the JSON by WebDataset and written by the decoder and the loader.
#include "runtime/data/target_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>

#include "runtime/core/rng.h"
#include "runtime/data/image_ops.h"
#include "runtime/data/loader.h"
#include "runtime/data/sample_decoder.h"
#include "runtime/data/shard_index.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

using testing::CodedImage;
using ::testing::HasSubstr;
using testing::Jpeg;
using testing::TempDir;

std::vector<float> Map(const PixelBox& box, int grid, bool flipped = false) {
  std::vector<float> out(grid * grid, -1.0f);
  const Status st = BoxToPatchMap(box, grid, flipped, "test", out.data());
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

TEST(BoxToPatchMap, SharesOfCoveredAreaSumToOne) {
  // 64 px canvas on a 4x4 grid (16 px patches): [0, 0, 16, 24) covers patch (0,0) fully (256 px)
  // and half of patch (0,1) (128 px).
  const std::vector<float> m = Map({0, 0, 16, 24, 64, 64}, 4);
  EXPECT_NEAR(m[0], 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(m[1], 1.0 / 3.0, 1e-6);
  for (int k = 2; k < 16; ++k) EXPECT_EQ(m[k], 0.0f) << k;
  // A centred box covers four patches by a quarter each.
  const std::vector<float> c = Map({8, 8, 24, 24, 64, 64}, 4);
  for (int k : {0, 1, 4, 5}) EXPECT_NEAR(c[k], 0.25, 1e-6) << k;
  EXPECT_NEAR(std::accumulate(c.begin(), c.end(), 0.0), 1.0, 1e-6);
  // The canvas scales onto the grid: the same box on a 128 px canvas at twice the size.
  EXPECT_EQ(Map({0, 0, 32, 48, 128, 128}, 4), m);
}

TEST(BoxToPatchMap, FlipMirrorsTheColumns) {
  const std::vector<float> m = Map({16, 0, 32, 24, 64, 64}, 4, /*flipped=*/true);
  EXPECT_NEAR(m[1 * 4 + 3], 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(m[1 * 4 + 2], 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(std::accumulate(m.begin(), m.end(), 0.0), 1.0, 1e-6);
}

TEST(BoxToPatchMap, EmptyOrOutsideBoxIsAnErrorNamingTheSample) {
  std::vector<float> out(16);
  Status st = BoxToPatchMap({5, 5, 5, 9, 64, 64}, 4, false, "shard-0.tar:k7.json", out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("shard-0.tar:k7.json"));
  EXPECT_THAT(st.message(), HasSubstr("target_box"));
  st = BoxToPatchMap({70, 70, 80, 80, 64, 64}, 4, false, "k8", out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("outside"));
}

TEST(BoxToPatchMap, BoxInAMosaicCellScalesIntoTheCell) {
  // The whole 64 px source box into the bottom-right cell of a 2x2 mosaic of a 32 px canvas.
  const PixelBox b = BoxInCell({0, 0, 64, 64, 64, 64}, 16, 16, 32, 32, 32, 32);
  const std::vector<float> m = Map(b, 2);
  EXPECT_NEAR(m[3], 1.0, 1e-6);
  EXPECT_EQ(m[0] + m[1] + m[2], 0.0f);
}

RawSample SampleWithBox(int y0, int x0, int y1, int x1, int size) {
  RawSample raw;
  raw.shard = "train/shard-000.tar";
  raw.key = "k42";
  raw.item_jpeg = Jpeg(CodedImage(3));
  raw.query_jpeg = Jpeg(CodedImage(4));
  raw.title = "red shirt";
  raw.product_id = 9;
  const int box[4] = {y0, x0, y1, x1};
  std::copy_n(box, 4, raw.target_box);
  raw.target_box_size = size;
  return raw;
}

TEST(SampleDecoder, WritesTheTargetMapMirroredWithTheItemFlip) {
  TransformOptions t;
  t.item_size = 8;
  t.target_grid = 2;
  t.hflip_prob = 1.0f;  // both images flipped
  const SampleDecoder decoder(nullptr, nullptr, t);
  const RawSample raw = SampleWithBox(0, 0, 32, 32, 64);  // the top-left quarter
  std::vector<float> item(3 * 8 * 8), map(4, -1.0f);
  SampleOutput out;
  out.item = item.data();
  out.target_map = map.data();
  Rng augment(1);
  ASSERT_TRUE(decoder.Decode(raw, &augment, out).ok());
  EXPECT_EQ(map, (std::vector<float>{0, 1, 0, 0}));  // flipped: the top-right patch
  ASSERT_TRUE(decoder.Decode(raw, /*augment=*/nullptr, out).ok());
  EXPECT_EQ(map, (std::vector<float>{1, 0, 0, 0}));  // no augmentation: as recorded
}

TEST(SampleDecoder, MissingBoxIsAnErrorNamingTheSampleOnlyWhenMapsAreWanted) {
  TransformOptions t;
  t.item_size = 8;
  t.target_grid = 2;
  const SampleDecoder decoder(nullptr, nullptr, t);
  RawSample raw = SampleWithBox(0, 0, 0, 0, 0);  // no box recorded
  std::vector<float> item(3 * 8 * 8), map(4);
  SampleOutput out;
  out.item = item.data();
  out.target_map = map.data();
  const Status st = decoder.Decode(raw, nullptr, out);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("train/shard-000.tar:k42.json"));
  EXPECT_THAT(st.message(), HasSubstr("MASK"));
  out.target_map = nullptr;  // the default SRD target: no box needed
  EXPECT_TRUE(decoder.Decode(raw, nullptr, out).ok());
}

TEST(DataLoader, BatchCarriesTargetMapsFromTheJsonBox) {
  TempDir dir;
  TarWriter writer;
  ASSERT_TRUE(writer.Open(dir / "a.tar").ok());
  for (int i = 0; i < 4; ++i) {
    const std::string k = "s" + std::to_string(i);
    ASSERT_TRUE(writer.Add(k + ".query.jpg", Jpeg(CodedImage(i))).ok());
    ASSERT_TRUE(writer.Add(k + ".item.jpg", Jpeg(CodedImage(i + 1))).ok());
    // Sample i's box: the bottom-left quarter of a 64 px canvas.
    ASSERT_TRUE(
        writer
            .Add(k + ".json", "{\"title\": \"red shirt\", \"product_id\": " + std::to_string(i) +
                                  ", \"target_box\": [32, 0, 64, 32], \"image_size\": 64}")
            .ok());
  }
  ASSERT_TRUE(writer.Close().ok());
  ASSERT_TRUE(WriteShardIndex(dir / "a.tar").ok());
  std::ofstream(dir / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\nred\nshirt\n";
  LoaderOptions o;
  o.shards = {dir / "a.tar"};
  o.vocab = dir / "vocab.txt";
  o.transform.query_size = 8;
  o.transform.item_size = 8;
  o.transform.max_len = 4;
  o.transform.target_grid = 2;
  o.global_batch = 4;
  o.threads = 0;
  auto loader = DataLoader::Create(o);
  ASSERT_TRUE(loader.ok()) << loader.status().message();
  StatusOr<Batch> batch = (*loader)->NextBatch();
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->target_maps.shape(), Shape({4, 4}));
  for (int64_t i = 0; i < 4; ++i) {
    const float* row = batch->target_maps.f32() + i * 4;
    EXPECT_EQ(std::vector<float>(row, row + 4), (std::vector<float>{0, 0, 1, 0})) << i;
  }
}

}  // namespace
}  // namespace tigerfg::data
