// launcher/cmd_eval.cc — `tigerfg eval --config C (--weights W | --checkpoint D) --eval_set
// DIR[,DIR2]`: Recall@1/5/10 and mAP of each evaluation set (runtime/eval/evaluate.h), printed as
// a table and optionally written as JSON. --title_mode=generic gives every listing the same title,
// the ablation that shows how much of the result the titles carry.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/eval/evaluate.h"

DEFINE_string(eval_set, "",
              "eval: comma-separated folders holding queries-*.tar and gallery-*.tar (default: "
              "data.eval_sets of the config)");
DEFINE_string(title_mode, "title",
              "eval: title = the listings' own titles; generic = every title is --generic_title");
DEFINE_string(generic_title, "product", "eval: the title every listing gets with generic mode");

namespace tigerfg::launcher {

namespace {

Status Evaluate(nlohmann::ordered_json* report) {
  TIGERFG_ASSIGN_OR_RETURN(config::RunConfig cfg, LoadRunConfigFromFlags());
  ConfigureCpuThreads(cfg.train().threads());
  eval::EvalOptions options;
  options.sets = SplitList(FLAGS_eval_set);
  if (options.sets.empty())
    options.sets.assign(cfg.data().eval_sets().begin(), cfg.data().eval_sets().end());
  if (options.sets.empty())
    return Status::Error("--eval_set: no evaluation set given (nor data.eval_sets)");
  if (FLAGS_title_mode != "title" && FLAGS_title_mode != "generic")
    return Status::Error("--title_mode: expected title or generic, got '" + FLAGS_title_mode + "'");
  options.generic_titles = FLAGS_title_mode == "generic";
  options.generic_title = FLAGS_generic_title;
  options.serving = ServingOptionsFromFlags();
  TIGERFG_ASSIGN_OR_RETURN(const Context ctx, SelectDevice(cfg.train().device(), "local"));
  TIGERFG_ASSIGN_OR_RETURN(std::vector<eval::EvalSetResult> results,
                           eval::RunEval(cfg, options, ctx));
  (*report)["config"] = FLAGS_config;
  (*report)["weights"] = FLAGS_weights.empty() ? FLAGS_checkpoint : FLAGS_weights;
  (*report)["title_mode"] = FLAGS_title_mode;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const eval::EvalSetResult& result : results) {
    const eval::RetrievalMetrics& m = result.metrics;
    nlohmann::ordered_json r;
    r["set"] = result.set;
    r["dir"] = result.dir;
    r["queries"] = m.queries;
    r["gallery"] = m.gallery;
    r["recall@1"] = m.recall_at_1;
    r["recall@5"] = m.recall_at_5;
    r["recall@10"] = m.recall_at_10;
    r["map"] = m.map;
    r["chance@1"] = m.chance_at_1;
    rows.push_back(r);
  }
  (*report)["results"] = rows;
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
