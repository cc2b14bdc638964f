// runtime/eval/evaluate.cc — retrieval evaluation over evaluation sets (see evaluate.h).
#include "runtime/eval/evaluate.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "runtime/core/safetensors.h"
#include "runtime/data/loader.h"

namespace tigerfg::eval {

namespace {

// Embeddings [n, E] and product ids [n] of one half of an evaluation set.
struct EmbeddedPart {
  Buffer emb, product_ids;
};

// How the gallery is shown to the item tower.
struct GalleryView {
  std::vector<int64_t> title_override;  // empty: the listings' own titles
  bool blank_images = false;
};

// Embeds rows [0, n) of a batch through the item tower, local_batch rows at a time, and adds the
// grounding map's mass on the product (masks[row], empty = no box) to *mass when given.
void EmbedItems(model::TigerFGModel& model, const Batch& batch,
                const std::vector<std::vector<uint8_t>>& masks, float* out, ProductMass* mass) {
  const int64_t n = batch.product_ids.numel(), e = model.embed_dim();
  for (int64_t begin = 0; begin < n; begin += model.local_batch()) {
    const int64_t end = std::min(n, begin + model.local_batch());
    const Tensor emb = model.EncodeItems(batch.item_images.tensor().Slice(begin, end),
                                         batch.title_ids.tensor().Slice(begin, end));
    CopyToHost(model.context(), Tensor::F32(out + begin * e, emb.shape()), emb);
    if (mass == nullptr) continue;
    const Buffer map = ToHost(model.context(), model.ground_map());  // [local_batch, N]
    const std::vector<std::vector<uint8_t>> rows(masks.begin() + begin, masks.begin() + end);
    AddProductMass(map.f32(), end - begin, map.shape()[1], rows, mass);
  }
}

StatusOr<EmbeddedPart> EmbedPart(model::TigerFGModel& model, const std::string& dir,
                                 data::EvalPart part, const data::LoaderOptions& options,
                                 const GalleryView& view,
                                 const std::vector<std::vector<uint8_t>>& masks,
                                 ProductMass* mass) {
  TIGERFG_ASSIGN_OR_RETURN(auto set, data::EvalSet::Open(dir, part, options));
  const int64_t n = set->size(), e = model.embed_dim();
  const bool queries = part == data::EvalPart::kQueries;
  const char* what = queries ? "queries" : "gallery";
  if (n == 0) return Status::Error(dir + ": no " + std::string(what) + " samples");
  EmbeddedPart out{Buffer(DType::kF32, Shape{n, e}), Buffer(DType::kI64, Shape{n})};
  for (int64_t begin = 0; begin < n; begin += kReadRows) {
    const int64_t end = std::min(n, begin + kReadRows);
    StatusOr<Batch> batch = set->Read(begin, end);
    if (!batch.ok()) return batch.status().WithContext(dir + " " + what);
    if (queries) {
      const Buffer emb = EmbedBatch(model, *batch, Tower::kQuery);
      std::memcpy(out.emb.f32() + begin * e, emb.f32(), emb.nbytes());
    } else {
      if (!view.title_override.empty()) {
        int64_t* ids = batch->title_ids.i64();
        const int64_t len = static_cast<int64_t>(view.title_override.size());
        for (int64_t i = 0; i < batch->title_ids.numel(); ++i)
          ids[i] = view.title_override[i % len];
      }
      if (view.blank_images) std::fill_n(batch->item_images.f32(), batch->item_images.numel(), 0.f);
      std::vector<std::vector<uint8_t>> rows(end - begin);
      for (int64_t i = begin; i < end && mass != nullptr; ++i) rows[i - begin] = masks[i];
      EmbedItems(model, *batch, rows, out.emb.f32() + begin * e, mass);
    }
    std::memcpy(out.product_ids.i64() + begin, batch->product_ids.i64(),
                (end - begin) * sizeof(int64_t));
  }
  return out;
}

// The set's name: the folder's last component ("a/b/" -> "b").
std::string SetName(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  const std::string name = path.filename().string();
  return name.empty() ? path.parent_path().filename().string() : name;
}

StatusOr<RetrievalMetrics> Rank(const EmbeddedPart& queries, const EmbeddedPart& gallery,
                                const std::string& dir, Buffer* similarity) {
  CosineSimilarity(queries.emb, gallery.emb, *similarity);
  StatusOr<RetrievalMetrics> m =
      ComputeRetrievalMetrics(*similarity, queries.product_ids, gallery.product_ids);
  if (!m.ok()) return m.status().WithContext(dir);
  return m;
}

// Group ids of "colour|category" shared by queries and gallery; nullopt unless every listing
// and query records them.
std::optional<std::pair<std::vector<int64_t>, std::vector<int64_t>>> AttributeGroups(
    const std::vector<ListingMeta>& queries, const std::vector<ListingMeta>& gallery) {
  std::map<std::string, int64_t> ids;
  std::vector<int64_t> q(queries.size()), g(gallery.size());
  for (size_t j = 0; j < gallery.size(); ++j) {
    if (gallery[j].attributes.empty()) return std::nullopt;
    g[j] = ids.emplace(gallery[j].attributes, static_cast<int64_t>(ids.size())).first->second;
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    if (queries[i].attributes.empty()) return std::nullopt;
    auto it = ids.find(queries[i].attributes);
    q[i] = it == ids.end() ? -1 : it->second;
  }
  return std::make_pair(q, g);
}

struct SetInputs {
  const std::string& dir;
  const data::LoaderOptions& loader;
  const GalleryView& main;
  const std::vector<int64_t>& generic_ids;
};

StatusOr<EvalSetResult> EvaluateSet(model::TigerFGModel& model, const config::RunConfig& cfg,
                                    const EvalOptions& options, const SetInputs& in) {
  const std::string& dir = in.dir;
  TIGERFG_ASSIGN_OR_RETURN(const std::vector<ListingMeta> gallery_meta,
                           ReadListingMeta(dir, data::EvalPart::kGallery));
  TIGERFG_ASSIGN_OR_RETURN(const std::vector<ListingMeta> query_meta,
                           ReadListingMeta(dir, data::EvalPart::kQueries));
  const config::ViTConfig& item = cfg.model().item();
  std::vector<std::vector<uint8_t>> masks;
  bool any_box = false;
  for (const ListingMeta& m : gallery_meta) {
    masks.push_back(ProductPatches(m, item.image_size(), item.patch_size()));
    any_box = any_box || !masks.back().empty();
  }
  const bool grounds = cfg.model().ground_layers() > 0 && any_box;
  ProductMass grounding;
  TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart queries, EmbedPart(model, dir, data::EvalPart::kQueries,
                                                           in.loader, {}, masks, nullptr));
  TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart gallery,
                           EmbedPart(model, dir, data::EvalPart::kGallery, in.loader, in.main,
                                     masks, grounds ? &grounding : nullptr));
  const int64_t q = queries.product_ids.numel(), g = gallery.product_ids.numel();
  Buffer similarity(DType::kF32, Shape{q, g});
  EvalSetResult result{SetName(dir), dir};
  TIGERFG_ASSIGN_OR_RETURN(result.metrics, Rank(queries, gallery, dir, &similarity));
  if (auto groups = AttributeGroups(query_meta, gallery_meta)) {
    result.attribute_matched = ComputeGroupRecallAt1(
        similarity, queries.product_ids, gallery.product_ids, groups->first, groups->second);
  }
  if (grounds) {
    FinishProductMass(&grounding);
    result.grounding = grounding;
  }
  if (options.controls) {
    for (const bool blank : {false, true}) {
      const GalleryView view{blank ? in.main.title_override : in.generic_ids, blank};
      TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart control, EmbedPart(model, dir, data::EvalPart::kGallery,
                                                               in.loader, view, masks, nullptr));
      TIGERFG_ASSIGN_OR_RETURN(RetrievalMetrics m, Rank(queries, control, dir, &similarity));
      (blank ? result.blank_images : result.generic_titles) = m;
    }
  }
  if (cfg.model().srd_target() == config::ModelConfig::MASK && any_box) {
    TIGERFG_ASSIGN_OR_RETURN(result.teacher, MeasureMaskTeacherMass(cfg.model(), dir));
    result.teacher_is_mask = true;
  } else if (!options.teacher.weights.empty() && any_box) {
    StatusOr<ProductMass> teacher = MeasureTeacherMass(cfg, options.teacher, dir, in.loader);
    if (!teacher.ok()) return teacher.status().WithContext("teacher check");
    result.teacher = *teacher;
  }
  return result;
}

// The serving file's own teacher when the config has one and the file holds teacher.* tensors.
TeacherSource DefaultTeacher(const config::RunConfig& cfg, const EvalOptions& options) {
  if (!options.teacher.weights.empty() || !cfg.model().has_teacher() ||
      options.serving.weights.empty())
    return options.teacher;
  StatusOr<TensorFile> file = ReadSafetensors(options.serving.weights);
  if (!file.ok()) return options.teacher;
  for (const auto& [name, tensor] : file->tensors)
    if (name.rfind("teacher.", 0) == 0) return TeacherSource{options.serving.weights, "teacher."};
  return options.teacher;
}

}  // namespace

StatusOr<std::vector<EvalSetResult>> RunEval(const config::RunConfig& cfg,
                                             const EvalOptions& options, const Context& ctx) {
  if (options.sets.empty())
    return Status::Error("--eval_set: no evaluation set given (nor data.eval_sets)");
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions loader,
                           data::LoaderOptionsFromConfig(cfg, /*rank=*/0, /*world=*/1));
  if (loader.vocab.empty())
    return Status::Error(
        "data.vocab is required to tokenise gallery titles (--set data.vocab=...)");
  std::vector<int64_t> generic_ids;
  if (options.generic_titles || options.controls) {
    TIGERFG_ASSIGN_OR_RETURN(generic_ids, EncodeTitle(loader.vocab, options.generic_title,
                                                      cfg.model().text().max_len()));
  }
  GalleryView main;
  if (options.generic_titles) main.title_override = generic_ids;
  main.blank_images = options.blank_item_images;
  EvalOptions resolved = options;
  resolved.teacher = DefaultTeacher(cfg, options);
  TIGERFG_ASSIGN_OR_RETURN(auto model, LoadServingModel(cfg, options.serving, ctx));
  std::vector<EvalSetResult> results;
  for (const std::string& dir : options.sets) {
    TIGERFG_ASSIGN_OR_RETURN(EvalSetResult r,
                             EvaluateSet(*model, cfg, resolved, {dir, loader, main, generic_ids}));
    results.push_back(std::move(r));
  }
  return results;
}

StatusOr<std::vector<ProductMass>> RunTeacherCheck(const config::RunConfig& cfg,
                                                   const std::vector<std::string>& sets,
                                                   const TeacherSource& teacher) {
  if (sets.empty())
    return Status::Error("--eval_set: no evaluation set given (nor data.eval_sets)");
  const bool mask = cfg.model().srd_target() == config::ModelConfig::MASK;
  if (teacher.weights.empty() && !mask)
    return Status::Error("--teacher_weights: the teacher to measure");
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions loader,
                           data::LoaderOptionsFromConfig(cfg, /*rank=*/0, /*world=*/1));
  std::vector<ProductMass> out;
  for (const std::string& dir : sets) {
    StatusOr<ProductMass> mass = mask ? MeasureMaskTeacherMass(cfg.model(), dir)
                                      : MeasureTeacherMass(cfg, teacher, dir, loader);
    if (!mass.ok()) return mass.status().WithContext(dir);
    out.push_back(*mass);
  }
  return out;
}

}  // namespace tigerfg::eval
