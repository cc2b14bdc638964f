// runtime/eval/evaluate.h — `tigerfg eval` as a library call: each evaluation set's gallery
// through the item tower and its queries through the query tower, the gallery ranked by cosine
// similarity, Recall@1/5/10 and mAP (every listing of the query's product_id is a hit). Where the
// set's JSON records them (the Fashion-MNIST benchmark), also: Recall@1 within the listings whose
// titles share the query's colour and category, the text-only oracle, and the share of the
// grounding map (and of the teacher's SRD map) on the product next to a uniform map's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/eval/listing_meta.h"
#include "runtime/eval/retrieval.h"
#include "runtime/eval/serving.h"
#include "runtime/eval/teacher_check.h"

namespace tigerfg::eval {

struct EvalOptions {
  std::vector<std::string> sets;  // folders holding queries-*.tar and gallery-*.tar
  ServingOptions serving;
  // With generic_titles every listing's title is generic_title (the ablation that shows how much
  // of the result the titles carry); otherwise the listings' own titles.
  bool generic_titles = false;
  std::string generic_title = "product";
  // Item images blanked (all zero after normalisation: the mean colour): the text-only control.
  bool blank_item_images = false;
  // Also run the controls (generic titles; blanked item images) in the same pass.
  bool controls = false;
  // The teacher to measure (MeasureTeacherMass); empty weights: the serving weights' own
  // teacher.* when the config has a teacher and the file holds them.
  TeacherSource teacher;
};

struct EvalSetResult {
  std::string set;  // the folder's name
  std::string dir;  // as given
  RetrievalMetrics metrics;
  std::optional<GroupRecall> attribute_matched;  // when the JSON records colour and category
  std::optional<ProductMass> grounding;          // ground_layers > 0 and boxes recorded
  std::optional<ProductMass> teacher;
  // The teacher measured is the product-box mask (model.srd_target MASK): ~1 by construction, an
  // upper bound, not a learned teacher.
  bool teacher_is_mask = false;
  std::optional<RetrievalMetrics> generic_titles, blank_images;  // with options.controls
};

// One result per set, in the order given; runs the towers on ctx.
StatusOr<std::vector<EvalSetResult>> RunEval(const config::RunConfig& cfg,
                                             const EvalOptions& options, const Context& ctx);

// The teacher check alone (no student): the teacher's map mass on the product per set. With
// model.srd_target MASK the teacher is the product-box mask (no weights needed).
StatusOr<std::vector<ProductMass>> RunTeacherCheck(const config::RunConfig& cfg,
                                                   const std::vector<std::string>& sets,
                                                   const TeacherSource& teacher);

}  // namespace tigerfg::eval
