// runtime/eval/teacher_check.h — how well a distillation teacher localises: the mass of its SRD
// map softmax_n(cos(teacher patch n of the listing, teacher CLS of the query) / tau_map) on the
// product, over held-out (query, gallery listing of the query's product) pairs, against a
// uniform map's. SRD pulls the student's grounding towards this map: a teacher below uniform
// teaches the grounding to look away from the product.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/status.h"
#include "runtime/data/loader.h"
#include "runtime/eval/listing_meta.h"

namespace tigerfg::eval {

struct TeacherSource {
  std::string weights;  // safetensors file
  // Where the teacher's tensors come from in the file: "teacher." (a trained model's own
  // teacher) or "query." (a query tower used as the teacher, as train --teacher_weights maps it).
  std::string prefix = "teacher.";
};

// The teacher of cfg.model() (which must have one) with tau_map of the config, run on the CPU
// over every gallery listing of `dir` that records its product box, paired with a query of the
// same product.
StatusOr<ProductMass> MeasureTeacherMass(const config::RunConfig& cfg, const TeacherSource& source,
                                         const std::string& dir, const data::LoaderOptions& loader);

// The mask teacher (model.srd_target MASK): every gallery listing of `dir` with a product box,
// its box as the SRD target map (runtime/data/target_map.h, on the item tower's patch grid),
// measured like a teacher's map. Near 1 by construction (the box's share on patches it covers
// by under a quarter is what is missing): an upper bound on what a teacher can localise.
StatusOr<ProductMass> MeasureMaskTeacherMass(const config::ModelConfig& model,
                                             const std::string& dir);

// "the teacher's map puts 0.061 on the product, a uniform map 0.117" and whether it is below;
// `mask`: says it is the product-box mask, an upper bound.
std::string DescribeTeacherMass(const ProductMass& mass, bool mask = false);
inline bool TeacherBelowUniform(const ProductMass& m) {
  return m.listings > 0 && m.on_product <= m.uniform;
}

}  // namespace tigerfg::eval
