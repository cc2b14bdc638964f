// runtime/eval/retrieval.cc — Recall@K and mAP over a similarity matrix with product-id hits.
#include "runtime/eval/retrieval.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace tigerfg::eval {

namespace {

struct QueryScore {
  double recall_at[3] = {0, 0, 0};  // K = 1, 5, 10
  double average_precision = 0;
  int64_t hits = 0;
};

constexpr int64_t kRecallK[3] = {1, 5, 10};

// One query's row sim[G]: hits rank after every non-hit with a score >= theirs.
QueryScore ScoreQuery(const float* sim, const int64_t* gallery_ids, int64_t g, int64_t query_id,
                      std::vector<float>* hit_scores, std::vector<float>* miss_scores) {
  hit_scores->clear();
  miss_scores->clear();
  for (int64_t j = 0; j < g; ++j)
    (gallery_ids[j] == query_id ? hit_scores : miss_scores)->push_back(sim[j]);
  QueryScore s;
  s.hits = static_cast<int64_t>(hit_scores->size());
  if (s.hits == 0) return s;
  std::sort(hit_scores->begin(), hit_scores->end(), std::greater<float>());
  std::sort(miss_scores->begin(), miss_scores->end(), std::greater<float>());
  double precision_sum = 0;
  for (int64_t i = 0; i < s.hits; ++i) {
    // Non-hits with a score >= this hit's (sorted descending: the first index below it).
    const float score = (*hit_scores)[i];
    const int64_t misses_above =
        std::upper_bound(miss_scores->begin(), miss_scores->end(), score, std::greater<float>()) -
        miss_scores->begin();
    const int64_t rank = i + 1 + misses_above;  // 1-based position of the (i+1)-th hit
    precision_sum += static_cast<double>(i + 1) / static_cast<double>(rank);
    if (i == 0) {
      for (int k = 0; k < 3; ++k) s.recall_at[k] = rank <= kRecallK[k] ? 1.0 : 0.0;
    }
  }
  s.average_precision = precision_sum / static_cast<double>(s.hits);
  return s;
}

}  // namespace

StatusOr<RetrievalMetrics> ComputeRetrievalMetrics(const Tensor& similarity,
                                                   const Tensor& query_ids,
                                                   const Tensor& gallery_ids) {
  CHECK(similarity.dtype() == DType::kF32 && similarity.ndim() == 2);
  const int64_t q = similarity.dim(0), g = similarity.dim(1);
  CHECK(query_ids.dtype() == DType::kI64 && query_ids.numel() == q);
  CHECK(gallery_ids.dtype() == DType::kI64 && gallery_ids.numel() == g);
  if (q == 0 || g == 0) return Status::Error("retrieval needs at least one query and one listing");
  std::vector<QueryScore> scores(q);
  std::vector<std::string> errors(q);
#pragma omp parallel
  {
    std::vector<float> hit_scores, miss_scores;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < q; ++i) {
      for (int64_t j = 0; j < g; ++j) {
        if (!std::isfinite(similarity.f32()[i * g + j])) {
          errors[i] =
              "similarity[" + std::to_string(i) + ", " + std::to_string(j) + "] is not finite";
          break;
        }
      }
      scores[i] = ScoreQuery(similarity.f32() + i * g, gallery_ids.i64(), g, query_ids.i64()[i],
                             &hit_scores, &miss_scores);
    }
  }
  RetrievalMetrics m;
  m.queries = q;
  m.gallery = g;
  for (int64_t i = 0; i < q; ++i) {
    if (!errors[i].empty()) return Status::Error(errors[i]);
    if (scores[i].hits == 0)
      return Status::Error("query " + std::to_string(i) + " (product_id " +
                           std::to_string(query_ids.i64()[i]) + ") has no listing in the gallery");
    m.recall_at_1 += scores[i].recall_at[0];
    m.recall_at_5 += scores[i].recall_at[1];
    m.recall_at_10 += scores[i].recall_at[2];
    m.map += scores[i].average_precision;
    m.chance_at_1 += static_cast<double>(scores[i].hits) / static_cast<double>(g);
  }
  for (double* v : {&m.recall_at_1, &m.recall_at_5, &m.recall_at_10, &m.map, &m.chance_at_1})
    *v /= static_cast<double>(q);
  return m;
}

GroupRecall ComputeGroupRecallAt1(const Tensor& similarity, const Tensor& query_ids,
                                  const Tensor& gallery_ids,
                                  const std::vector<int64_t>& query_groups,
                                  const std::vector<int64_t>& gallery_groups) {
  const int64_t q = similarity.dim(0), g = similarity.dim(1);
  CHECK_EQ(static_cast<int64_t>(query_groups.size()), q);
  CHECK_EQ(static_cast<int64_t>(gallery_groups.size()), g);
  GroupRecall r;
  for (int64_t i = 0; i < q; ++i) {
    if (query_groups[i] < 0) continue;
    const float* row = similarity.f32() + i * g;
    float best_hit = -std::numeric_limits<float>::infinity(), best_miss = best_hit;
    int64_t hits = 0, listings = 0;
    for (int64_t j = 0; j < g; ++j) {
      if (gallery_groups[j] != query_groups[i]) continue;
      ++listings;
      if (gallery_ids.i64()[j] == query_ids.i64()[i]) {
        ++hits;
        best_hit = std::max(best_hit, row[j]);
      } else {
        best_miss = std::max(best_miss, row[j]);
      }
    }
    ++r.queries;
    r.group_listings += double(listings);
    if (hits == 0) continue;
    if (hits == listings || best_hit > best_miss) r.recall_at_1 += 1;
    r.text_oracle_at_1 += double(hits) / double(listings);
  }
  if (r.queries > 0) {
    for (double* v : {&r.recall_at_1, &r.group_listings, &r.text_oracle_at_1})
      *v /= double(r.queries);
  }
  return r;
}

void CosineSimilarity(const Tensor& queries, const Tensor& gallery, Tensor out) {
  const int64_t q = queries.dim(0), g = gallery.dim(0), e = queries.dim(1);
  CHECK_EQ(gallery.dim(1), e);
  CHECK(out.shape() == Shape({q, g})) << out.shape().ToString();
  auto inverse_norms = [e](const Tensor& t) {
    std::vector<float> inv(t.dim(0));
    for (int64_t i = 0; i < t.dim(0); ++i) {
      double sq = 0;
      for (int64_t k = 0; k < e; ++k) sq += double{t.f32()[i * e + k]} * t.f32()[i * e + k];
      inv[i] = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
    }
    return inv;
  };
  const std::vector<float> inv_q = inverse_norms(queries), inv_g = inverse_norms(gallery);
  const float* qd = queries.f32();
  const float* gd = gallery.f32();
  float* o = out.f32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < q; ++i) {
    for (int64_t j = 0; j < g; ++j) {
      float dot = 0;
      for (int64_t k = 0; k < e; ++k) dot += qd[i * e + k] * gd[j * e + k];
      o[i * g + j] = dot * inv_q[i] * inv_g[j];
    }
  }
}

}  // namespace tigerfg::eval
