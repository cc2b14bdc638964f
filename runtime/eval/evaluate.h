// runtime/eval/evaluate.h — `tigerfg eval` as a library call: each evaluation set's gallery
// through the item tower and its queries through the query tower, the gallery ranked by cosine
// similarity, Recall@1/5/10 and mAP (every listing of the query's product_id is a hit).
#pragma once

#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/eval/retrieval.h"
#include "runtime/eval/serving.h"

namespace tigerfg::eval {

struct EvalOptions {
  std::vector<std::string> sets;  // folders holding queries-*.tar and gallery-*.tar
  ServingOptions serving;
  // With generic_titles every listing's title is generic_title (the ablation that shows how much
  // of the result the titles carry); otherwise the listings' own titles.
  bool generic_titles = false;
  std::string generic_title = "product";
};

struct EvalSetResult {
  std::string set;  // the folder's name
  std::string dir;  // as given
  RetrievalMetrics metrics;
};

// One result per set, in the order given; runs the towers on ctx.
StatusOr<std::vector<EvalSetResult>> RunEval(const config::RunConfig& cfg,
                                             const EvalOptions& options, const Context& ctx);

}  // namespace tigerfg::eval
