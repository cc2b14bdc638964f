// runtime/eval/retrieval.h — retrieval metrics of a query x gallery similarity matrix, where
// every gallery listing sharing the query's product_id is a hit (one-to-many listings).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg::eval {

struct RetrievalMetrics {
  int64_t queries = 0;
  int64_t gallery = 0;
  // Recall@K: the fraction of queries with at least one hit among the top K listings.
  double recall_at_1 = 0, recall_at_5 = 0, recall_at_10 = 0;
  double map = 0;  // mean over queries of the average precision over all of the query's hits
  // Recall@1 of a random ranking: mean over queries of hits / gallery size.
  double chance_at_1 = 0;
};

// similarity[Q, G] F32 (higher = closer), query_ids[Q] and gallery_ids[G] I64. Ties are broken
// against the query: a hit tied with a non-hit ranks after it, so a model that maps everything to
// one point scores 0, whatever the gallery's order. A query without any hit in the gallery is an
// error naming the query's row and product id.
StatusOr<RetrievalMetrics> ComputeRetrievalMetrics(const Tensor& similarity,
                                                   const Tensor& query_ids,
                                                   const Tensor& gallery_ids);

// out[Q, G] = cos(queries[q], gallery[g]) for F32 embeddings queries[Q, E], gallery[G, E]
// (rows of zero norm give 0).
void CosineSimilarity(const Tensor& queries, const Tensor& gallery, Tensor out);

}  // namespace tigerfg::eval
