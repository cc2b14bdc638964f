// tests/eval/retrieval_test.cc — Recall@K, mAP and cosine similarity on hand-made matrices:
// several positives per query, ties, a hit past rank 10, a query without a hit.
#include "runtime/eval/retrieval.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace tigerfg::eval {
namespace {

struct Case {
  Buffer sim, query_ids, gallery_ids;
};

Case MakeCase(const std::vector<std::vector<float>>& sim, const std::vector<int64_t>& query_ids,
              const std::vector<int64_t>& gallery_ids) {
  const int64_t q = static_cast<int64_t>(sim.size()), g = static_cast<int64_t>(gallery_ids.size());
  Case c{Buffer(DType::kF32, Shape{q, g}), Buffer(DType::kI64, Shape{q}),
         Buffer(DType::kI64, Shape{g})};
  for (int64_t i = 0; i < q; ++i) {
    for (int64_t j = 0; j < g; ++j) c.sim.f32()[i * g + j] = sim[i][j];
    c.query_ids.i64()[i] = query_ids[i];
  }
  for (int64_t j = 0; j < g; ++j) c.gallery_ids.i64()[j] = gallery_ids[j];
  return c;
}

StatusOr<RetrievalMetrics> Score(const Case& c) {
  return ComputeRetrievalMetrics(c.sim, c.query_ids, c.gallery_ids);
}

TEST(Retrieval, SeveralPositivesPerQuery) {
  // Gallery products [1, 7, 2, 7, 3]. Query 0 (product 7): hits at ranks 2 and 4, AP (1/2 + 2/4)/2.
  // Query 1 (product 1): its one hit last (rank 5), AP 1/5. Query 2 (product 2): rank 1, AP 1.
  const Case c = MakeCase({{0.9f, 0.8f, 0.7f, 0.6f, 0.5f},
                           {0.1f, 0.2f, 0.3f, 0.4f, 0.5f},
                           {0.0f, -0.1f, 1.0f, 0.2f, 0.3f}},
                          {7, 1, 2}, {1, 7, 2, 7, 3});
  auto m = Score(c);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->queries, 3);
  EXPECT_EQ(m->gallery, 5);
  EXPECT_DOUBLE_EQ(m->recall_at_1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m->recall_at_5, 1.0);
  EXPECT_DOUBLE_EQ(m->recall_at_10, 1.0);
  EXPECT_NEAR(m->map, (0.5 + 0.2 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(m->chance_at_1, (2.0 / 5 + 1.0 / 5 + 1.0 / 5) / 3, 1e-12);
}

TEST(Retrieval, TiesCountAgainstTheQuery) {
  // All scores equal: both hits rank after the three non-hits (positions 4 and 5).
  auto all_tied = Score(MakeCase({{0.5f, 0.5f, 0.5f, 0.5f, 0.5f}}, {7}, {1, 7, 2, 7, 3}));
  ASSERT_TRUE(all_tied.ok()) << all_tied.status().message();
  EXPECT_DOUBLE_EQ(all_tied->recall_at_1, 0.0);
  EXPECT_DOUBLE_EQ(all_tied->recall_at_5, 1.0);
  EXPECT_NEAR(all_tied->map, (1.0 / 4 + 2.0 / 5) / 2, 1e-12);
  // A hit tied with one non-hit at the top is second; the same hit alone at the top is first.
  auto tied = Score(MakeCase({{0.9f, 0.9f, 0.1f}}, {7}, {1, 7, 2}));
  ASSERT_TRUE(tied.ok());
  EXPECT_DOUBLE_EQ(tied->recall_at_1, 0.0);
  EXPECT_DOUBLE_EQ(tied->map, 0.5);
  auto untied = Score(MakeCase({{0.89f, 0.9f, 0.1f}}, {7}, {1, 7, 2}));
  ASSERT_TRUE(untied.ok());
  EXPECT_DOUBLE_EQ(untied->recall_at_1, 1.0);
  EXPECT_DOUBLE_EQ(untied->map, 1.0);
}

TEST(Retrieval, RecallCutoffsAtFiveAndTen) {
  // 12 listings; the only hit (product 9) is 6th for query 0 and 11th for query 1.
  std::vector<int64_t> gallery(12);
  for (int64_t j = 0; j < 12; ++j) gallery[j] = 100 + j;
  gallery[11] = 9;
  std::vector<float> sixth(12), eleventh(12);
  for (int j = 0; j < 11; ++j) {
    sixth[j] = j < 5 ? 1.0f : 0.0f;
    eleventh[j] = 1.0f;
  }
  sixth[11] = 0.5f;
  eleventh[11] = 0.5f;
  auto m = Score(MakeCase({sixth, eleventh}, {9, 9}, gallery));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_DOUBLE_EQ(m->recall_at_1, 0.0);
  EXPECT_DOUBLE_EQ(m->recall_at_5, 0.0);
  EXPECT_DOUBLE_EQ(m->recall_at_10, 0.5);
  EXPECT_NEAR(m->map, (1.0 / 6 + 1.0 / 12) / 2, 1e-12);
}

TEST(Retrieval, QueryWithoutHitIsAnErrorNamingIt) {
  auto m = Score(MakeCase({{0.1f, 0.2f}, {0.3f, 0.4f}}, {1, 42}, {1, 2}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("query 1"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("42"), std::string::npos) << m.status().message();
}

TEST(Retrieval, NonFiniteSimilarityIsAnError) {
  Case c = MakeCase({{0.1f, 0.2f}}, {1}, {1, 2});
  c.sim.f32()[1] = std::numeric_limits<float>::quiet_NaN();
  auto m = Score(c);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("similarity[0, 1]"), std::string::npos)
      << m.status().message();
}

TEST(CosineSimilarity, MatchesHandComputedValues) {
  Buffer q(DType::kF32, Shape{2, 2}), g(DType::kF32, Shape{3, 2}), out(DType::kF32, Shape{2, 3});
  const float qv[] = {3, 4, 0, 0};         // [3, 4] and a zero row
  const float gv[] = {3, 4, -4, 3, 2, 0};  // same direction, orthogonal, along x
  std::copy(qv, qv + 4, q.f32());
  std::copy(gv, gv + 6, g.f32());
  CosineSimilarity(q, g, out);
  EXPECT_NEAR(out.f32()[0], 1.0f, 1e-6);
  EXPECT_NEAR(out.f32()[1], 0.0f, 1e-6);
  EXPECT_NEAR(out.f32()[2], 0.6f, 1e-6);
  for (int j = 0; j < 3; ++j) EXPECT_EQ(out.f32()[3 + j], 0.0f);
}

}  // namespace
}  // namespace tigerfg::eval
