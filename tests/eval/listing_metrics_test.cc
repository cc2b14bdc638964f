// tests/eval/listing_metrics_test.cc — the Fashion-MNIST metrics of eval on hand-made inputs:
// Recall@1 within the query's attribute group and the text-only oracle, which patches lie on
// the product, and a map's mass on the product against a uniform map's.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/eval/listing_meta.h"
#include "runtime/eval/retrieval.h"

namespace tigerfg::eval {
namespace {

Buffer Matrix(const std::vector<std::vector<float>>& rows) {
  const int64_t q = static_cast<int64_t>(rows.size()), g = static_cast<int64_t>(rows[0].size());
  Buffer b(DType::kF32, Shape{q, g});
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < g; ++j) b.f32()[i * g + j] = rows[i][j];
  return b;
}

Buffer Ids(const std::vector<int64_t>& ids) {
  Buffer b(DType::kI64, Shape{static_cast<int64_t>(ids.size())});
  for (size_t i = 0; i < ids.size(); ++i) b.i64()[i] = ids[i];
  return b;
}

TEST(GroupRecall, RanksOnlyWithinTheQuerysGroup) {
  // Gallery products [1, 2, 3, 1, 4], groups [0, 0, 1, 0, 1].
  // Query 0 (product 1, group 0): overall the top listing is product 3 (other group), but within
  // group 0 its hit (0.8) beats product 2 (0.5): a hit. Group of 3 listings, 2 hits: oracle 2/3.
  // Query 1 (product 4, group 1): product 3 (0.9) beats its hit (0.2): a miss; oracle 1/2.
  // Query 2 (product 2, group 0): its hit ties product 1's best (0.7): a tie counts against.
  // Query 3 (group -1): skipped.
  const Buffer sim = Matrix({{0.8f, 0.5f, 0.95f, 0.1f, 0.0f},
                             {0.0f, 0.0f, 0.9f, 0.0f, 0.2f},
                             {0.7f, 0.7f, 0.0f, 0.1f, 0.0f},
                             {1.0f, 0.0f, 0.0f, 0.0f, 0.0f}});
  const GroupRecall r = ComputeGroupRecallAt1(sim, Ids({1, 4, 2, 1}), Ids({1, 2, 3, 1, 4}),
                                              {0, 1, 0, -1}, {0, 0, 1, 0, 1});
  EXPECT_EQ(r.queries, 3);
  EXPECT_DOUBLE_EQ(r.recall_at_1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.group_listings, (3 + 2 + 3) / 3.0);
  EXPECT_DOUBLE_EQ(r.text_oracle_at_1, (2.0 / 3 + 1.0 / 2 + 1.0 / 3) / 3);
}

TEST(GroupRecall, AGroupOfOnlyHitsIsAHit) {
  const Buffer sim = Matrix({{0.1f, 0.9f}});
  const GroupRecall r = ComputeGroupRecallAt1(sim, Ids({5}), Ids({5, 6}), {0}, {0, 1});
  EXPECT_DOUBLE_EQ(r.recall_at_1, 1.0);
  EXPECT_DOUBLE_EQ(r.text_oracle_at_1, 1.0);
}

TEST(ProductPatches, BoxCoversAQuarterOfAPatch) {
  ListingMeta m;
  m.has_box = true;
  m.image_size = 64;
  // Rows 2..31, columns 0..9 of a 64 px canvas; at 32 px, patch 8 (a 4x4 grid): rows 1..15,
  // columns 0..4. Patch (0, 0) holds rows 1..7 x columns 0..4 = 35 px >= 16: on. Column 1
  // (x 8..15) holds 7 x 1 = 7 px < 16: off.
  m.box[0] = 2;
  m.box[1] = 0;
  m.box[2] = 32;
  m.box[3] = 10;
  const std::vector<uint8_t> mask = ProductPatches(m, 32, 8);
  const std::vector<uint8_t> expected = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(mask, expected);
  m.has_box = false;
  EXPECT_TRUE(ProductPatches(m, 32, 8).empty());
}

TEST(ProductMass, MapMassAgainstUniform) {
  // Two maps over 4 patches; the first listing's product covers patches {0, 1}, the second's
  // {3}; a third listing has no box and is skipped.
  const std::vector<float> maps = {0.5f,  0.3f,  0.1f,  0.1f,   //
                                   0.25f, 0.25f, 0.25f, 0.25f,  //
                                   1.0f,  0.0f,  0.0f,  0.0f};
  ProductMass mass;
  AddProductMass(maps.data(), 3, 4, {{1, 1, 0, 0}, {0, 0, 0, 1}, {}}, &mass);
  FinishProductMass(&mass);
  EXPECT_EQ(mass.listings, 2);
  EXPECT_NEAR(mass.on_product, (0.8 + 0.25) / 2, 1e-6);
  EXPECT_NEAR(mass.uniform, (0.5 + 0.25) / 2, 1e-12);
}

}  // namespace
}  // namespace tigerfg::eval
