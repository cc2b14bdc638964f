// launcher/cmd_eval.cc — `tigerfg eval --config C (--weights W | --checkpoint D) --eval_set
// DIR[,DIR2]`: embeds each evaluation set's gallery (item tower) and queries (query tower), ranks
// the gallery by cosine similarity and reports Recall@1/5/10 and mAP (every listing of the query's
// product_id is a hit). --title_mode=generic gives every listing the same title, the ablation
// that shows how much of the result the titles carry.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "launcher/commands.h"
#include "launcher/embedding.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/data/loader.h"
#include "runtime/eval/retrieval.h"

DEFINE_string(eval_set, "",
              "eval: comma-separated folders holding queries-*.tar and gallery-*.tar (default: "
              "data.eval_sets of the config)");
DEFINE_string(title_mode, "title",
              "eval: title = the listings' own titles; generic = every title is --generic_title");
DEFINE_string(generic_title, "product", "eval: the title every listing gets with generic mode");

namespace tigerfg::launcher {

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

Status Evaluate(nlohmann::ordered_json* report) {
  TIGERFG_ASSIGN_OR_RETURN(config::RunConfig cfg, LoadRunConfigFromFlags());
  ConfigureCpuThreads(cfg.train().threads());
  std::vector<std::string> sets = SplitList(FLAGS_eval_set);
  if (sets.empty()) sets.assign(cfg.data().eval_sets().begin(), cfg.data().eval_sets().end());
  if (sets.empty())
    return Status::Error("--eval_set: no evaluation set given (nor data.eval_sets)");
  if (FLAGS_title_mode != "title" && FLAGS_title_mode != "generic")
    return Status::Error("--title_mode: expected title or generic, got '" + FLAGS_title_mode + "'");
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions options,
                           data::LoaderOptionsFromConfig(cfg, /*rank=*/0, /*world=*/1));
  if (options.vocab.empty())
    return Status::Error(
        "data.vocab is required to tokenise gallery titles (--set data.vocab=...)");
  std::vector<int64_t> title_override;
  if (FLAGS_title_mode == "generic") {
    TIGERFG_ASSIGN_OR_RETURN(title_override, EncodeTitle(options.vocab, FLAGS_generic_title,
                                                         cfg.model().text().max_len()));
  }
  TIGERFG_ASSIGN_OR_RETURN(const Context ctx, SelectDevice(cfg.train().device(), "local"));
  TIGERFG_ASSIGN_OR_RETURN(
      auto model, LoadServingModel(cfg, FLAGS_weights, FLAGS_checkpoint, FLAGS_embed_batch, ctx));
  (*report)["config"] = FLAGS_config;
  (*report)["weights"] = FLAGS_weights.empty() ? FLAGS_checkpoint : FLAGS_weights;
  (*report)["title_mode"] = FLAGS_title_mode;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const std::string& dir : sets) {
    TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart gallery, EmbedPart(*model, dir, data::EvalPart::kGallery,
                                                             options, title_override));
    TIGERFG_ASSIGN_OR_RETURN(EmbeddedPart queries,
                             EmbedPart(*model, dir, data::EvalPart::kQueries, options, {}));
    const int64_t q = queries.product_ids.numel(), g = gallery.product_ids.numel();
    Buffer similarity(DType::kF32, Shape{q, g});
    eval::CosineSimilarity(queries.emb, gallery.emb, similarity);
    StatusOr<eval::RetrievalMetrics> m =
        eval::ComputeRetrievalMetrics(similarity, queries.product_ids, gallery.product_ids);
    if (!m.ok()) return m.status().WithContext(dir);
    nlohmann::ordered_json r;
    r["set"] = std::filesystem::path(dir).lexically_normal().filename().string();
    if (r["set"].get<std::string>().empty())
      r["set"] = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
    r["dir"] = dir;
    r["queries"] = m->queries;
    r["gallery"] = m->gallery;
    r["recall@1"] = m->recall_at_1;
    r["recall@5"] = m->recall_at_5;
    r["recall@10"] = m->recall_at_10;
    r["map"] = m->map;
    r["chance@1"] = m->chance_at_1;
    results.push_back(r);
  }
  (*report)["results"] = results;
  return Status::Ok();
}

}  // namespace

int RunEval() {
  nlohmann::ordered_json report;
  Status st = Evaluate(&report);
  if (!st.ok()) return ReportError("eval", st);
  std::printf("%-20s %8s %8s %8s %8s %8s %8s  (titles: %s)\n", "set", "queries", "gallery", "R@1",
              "R@5", "R@10", "mAP", FLAGS_title_mode.c_str());
  for (const auto& r : report["results"])
    std::printf("%-20s %8lld %8lld %8.4f %8.4f %8.4f %8.4f\n", r["set"].get<std::string>().c_str(),
                r["queries"].get<long long>(), r["gallery"].get<long long>(),
                r["recall@1"].get<double>(), r["recall@5"].get<double>(),
                r["recall@10"].get<double>(), r["map"].get<double>());
  if (!FLAGS_out.empty()) {
    std::ofstream out(FLAGS_out);
    out << report.dump(2) << "\n";
    if (!out) return ReportError("eval", Status::Error(FLAGS_out + ": cannot write"));
  }
  return 0;
}

}  // namespace tigerfg::launcher
