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

// Recall@1 where the title's visible words carry no identity: each query is ranked only against
// the gallery listings of its group (listings whose titles share the query product's colour and
// category; its own listings are among them). query_groups[Q] (-1: the query is skipped) and
// gallery_groups[G] are group ids. Ties count against the query, as above. Also the expected
// Recall@1 of the text-only oracle that ranks the group first in random order (hits / group size).
struct GroupRecall {
  int64_t queries = 0;        // queries with a group
  double recall_at_1 = 0;     // within the group
  double group_listings = 0;  // mean listings per query's group
  double text_oracle_at_1 = 0;
};
GroupRecall ComputeGroupRecallAt1(const Tensor& similarity, const Tensor& query_ids,
                                  const Tensor& gallery_ids,
                                  const std::vector<int64_t>& query_groups,
                                  const std::vector<int64_t>& gallery_groups);

// out[Q, G] = cos(queries[q], gallery[g]) for F32 embeddings queries[Q, E], gallery[G, E]
// (rows of zero norm give 0).
void CosineSimilarity(const Tensor& queries, const Tensor& gallery, Tensor out);

}  // namespace tigerfg::eval
