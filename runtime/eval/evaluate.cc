// runtime/eval/evaluate.cc — retrieval evaluation over evaluation sets (see evaluate.h).
#include "runtime/eval/evaluate.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "runtime/data/loader.h"

namespace tigerfg::eval {

namespace {

// Embeddings [n, E] and product ids [n] of one half of an evaluation set.
struct EmbeddedPart {
  Buffer emb, product_ids;
};

StatusOr<EmbeddedPart> EmbedPart(model::TigerFGModel& model, const std::string& dir,
                                 data::EvalPart part, const data::LoaderOptions& options,
                                 const std::vector<int64_t>& title_override) {
  TIGERFG_ASSIGN_OR_RETURN(auto set, data::EvalSet::Open(dir, part, options));
  const int64_t n = set->size(), e = model.embed_dim();
  const char* what = part == data::EvalPart::kQueries ? "queries" : "gallery";
  if (n == 0) return Status::Error(dir + ": no " + std::string(what) + " samples");
  EmbeddedPart out{Buffer(DType::kF32, Shape{n, e}), Buffer(DType::kI64, Shape{n})};
  for (int64_t begin = 0; begin < n; begin += kReadRows) {
    const int64_t end = std::min(n, begin + kReadRows);
    StatusOr<Batch> batch = set->Read(begin, end);
    if (!batch.ok()) return batch.status().WithContext(dir + " " + what);
    if (!title_override.empty()) {
      int64_t* ids = batch->title_ids.i64();
      const int64_t len = static_cast<int64_t>(title_override.size());
      for (int64_t i = 0; i < batch->title_ids.numel(); ++i) ids[i] = title_override[i % len];
    }
    const Tower tower = part == data::EvalPart::kQueries ? Tower::kQuery : Tower::kItem;
    const Buffer emb = EmbedBatch(model, *batch, tower);
    std::memcpy(out.emb.f32() + begin * e, emb.f32(), emb.nbytes());
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

StatusOr<EvalSetResult> EvaluateSet(model::TigerFGModel& model, const std::string& dir,
                                    const data::LoaderOptions& options,
                                    const std::vector<int64_t>& title_override) {
  TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart gallery, EmbedPart(model, dir, data::EvalPart::kGallery,
                                                           options, title_override));
  TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart queries,
                           EmbedPart(model, dir, data::EvalPart::kQueries, options, {}));
  const int64_t q = queries.product_ids.numel(), g = gallery.product_ids.numel();
  Buffer similarity(DType::kF32, Shape{q, g});
  CosineSimilarity(queries.emb, gallery.emb, similarity);
  StatusOr<RetrievalMetrics> m =
      ComputeRetrievalMetrics(similarity, queries.product_ids, gallery.product_ids);
  if (!m.ok()) return m.status().WithContext(dir);
  return EvalSetResult{SetName(dir), dir, *m};
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
  std::vector<int64_t> title_override;
  if (options.generic_titles) {
    TIGERFG_ASSIGN_OR_RETURN(title_override, EncodeTitle(loader.vocab, options.generic_title,
                                                         cfg.model().text().max_len()));
  }
  TIGERFG_ASSIGN_OR_RETURN(auto model, LoadServingModel(cfg, options.serving, ctx));
  std::vector<EvalSetResult> results;
  for (const std::string& dir : options.sets) {
    TIGERFG_ASSIGN_OR_RETURN(EvalSetResult r, EvaluateSet(*model, dir, loader, title_override));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace tigerfg::eval
