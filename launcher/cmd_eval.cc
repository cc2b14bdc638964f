// launcher/cmd_eval.cc — `tigerfg eval --config C (--weights W | --checkpoint D) --eval_set
// DIR[,DIR2]`: Recall@1/5/10 and mAP of each evaluation set (runtime/eval/evaluate.h), printed as
// a table and optionally written as JSON; on the Fashion-MNIST sets also Recall@1 among the
// listings sharing the query's colour and category, the text-only oracle and the grounding
// map's mass on the product. --title_mode=generic gives every listing the same title,
// --item_images=blank blanks every item image (the text-only control); --controls runs both in
// the same pass. The teacher check (the teacher's SRD map mass on the product against a uniform
// map's) runs with --teacher_weights F (F's query.* as the teacher, as train maps it) or on the
// weights' own teacher.*; --teacher_only runs only it and exits 3 when the teacher is at or
// below uniform on a set, unless --allow_weak_teacher. With model.srd_target MASK the teacher
// measured is the product-box mask itself (no weights; ~1 by construction, an upper bound).
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
DEFINE_string(item_images, "real", "eval: real = the listings' images; blank = all blanked");
DEFINE_bool(controls, false,
            "eval: also evaluate with generic titles and with blanked item images");
DEFINE_bool(teacher_only, false,
            "eval: only the teacher check (needs --teacher_weights, or model.srd_target MASK); "
            "exit 3 when the teacher's "
            "map is at or below uniform on a set, unless --allow_weak_teacher");
DEFINE_bool(allow_weak_teacher, false, "eval --teacher_only: report a weak teacher, exit 0");
DECLARE_string(teacher_weights);  // launcher/cmd_train.cc: FILE whose query.* is the teacher

namespace tigerfg::launcher {

namespace {

nlohmann::ordered_json MetricsJson(const eval::RetrievalMetrics& m) {
  nlohmann::ordered_json r;
  r["recall@1"] = m.recall_at_1;
  r["recall@5"] = m.recall_at_5;
  r["recall@10"] = m.recall_at_10;
  r["map"] = m.map;
  return r;
}

nlohmann::ordered_json ResultJson(const eval::EvalSetResult& result) {
  const eval::RetrievalMetrics& m = result.metrics;
  nlohmann::ordered_json r;
  r["set"] = result.set;
  r["dir"] = result.dir;
  r["queries"] = m.queries;
  r["gallery"] = m.gallery;
  r.update(MetricsJson(m));
  r["chance@1"] = m.chance_at_1;
  if (result.attribute_matched) {
    r["recall@1_attribute_matched"] = result.attribute_matched->recall_at_1;
    r["text_oracle@1"] = result.attribute_matched->text_oracle_at_1;
    r["attribute_group_listings"] = result.attribute_matched->group_listings;
  }
  if (result.grounding) {
    r["ground_on_product"] = result.grounding->on_product;
    r["ground_uniform"] = result.grounding->uniform;
  }
  if (result.teacher) {
    r["teacher_on_product"] = result.teacher->on_product;
    r["teacher_uniform"] = result.teacher->uniform;
    r["teacher"] = result.teacher_is_mask ? "mask (upper bound)" : "teacher ViT";
  }
  if (result.generic_titles) r["generic_titles"] = MetricsJson(*result.generic_titles);
  if (result.blank_images) r["blank_images"] = MetricsJson(*result.blank_images);
  return r;
}

StatusOr<config::RunConfig> EvalConfig(std::vector<std::string>* sets) {
  TIGERFG_ASSIGN_OR_RETURN(config::RunConfig cfg, LoadRunConfigFromFlags());
  ConfigureCpuThreads(cfg.train().threads());
  *sets = SplitList(FLAGS_eval_set);
  if (sets->empty()) sets->assign(cfg.data().eval_sets().begin(), cfg.data().eval_sets().end());
  if (sets->empty())
    return Status::Error("--eval_set: no evaluation set given (nor data.eval_sets)");
  return cfg;
}

Status Evaluate(nlohmann::ordered_json* report) {
  eval::EvalOptions options;
  TIGERFG_ASSIGN_OR_RETURN(const config::RunConfig cfg, EvalConfig(&options.sets));
  if (FLAGS_title_mode != "title" && FLAGS_title_mode != "generic")
    return Status::Error("--title_mode: expected title or generic, got '" + FLAGS_title_mode + "'");
  if (FLAGS_item_images != "real" && FLAGS_item_images != "blank")
    return Status::Error("--item_images: expected real or blank, got '" + FLAGS_item_images + "'");
  options.generic_titles = FLAGS_title_mode == "generic";
  options.generic_title = FLAGS_generic_title;
  options.blank_item_images = FLAGS_item_images == "blank";
  options.controls = FLAGS_controls;
  options.teacher = {FLAGS_teacher_weights, "query."};
  options.serving = ServingOptionsFromFlags();
  TIGERFG_ASSIGN_OR_RETURN(const Context ctx, SelectDevice(cfg.train().device(), "local"));
  TIGERFG_ASSIGN_OR_RETURN(std::vector<eval::EvalSetResult> results,
                           eval::RunEval(cfg, options, ctx));
  (*report)["config"] = FLAGS_config;
  (*report)["weights"] = FLAGS_weights.empty() ? FLAGS_checkpoint : FLAGS_weights;
  (*report)["title_mode"] = FLAGS_title_mode;
  (*report)["item_images"] = FLAGS_item_images;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const eval::EvalSetResult& result : results) rows.push_back(ResultJson(result));
  (*report)["results"] = rows;
  return Status::Ok();
}

// --teacher_only: the teacher's map mass per set; *weak when at or below uniform on one.
Status CheckTeacher(nlohmann::ordered_json* report, bool* weak) {
  std::vector<std::string> sets;
  TIGERFG_ASSIGN_OR_RETURN(const config::RunConfig cfg, EvalConfig(&sets));
  TIGERFG_ASSIGN_OR_RETURN(const std::vector<eval::ProductMass> masses,
                           eval::RunTeacherCheck(cfg, sets, {FLAGS_teacher_weights, "query."}));
  (*report)["config"] = FLAGS_config;
  const bool mask = cfg.model().srd_target() == config::ModelConfig::MASK;
  (*report)["teacher_weights"] = FLAGS_teacher_weights;
  (*report)["teacher"] = mask ? "mask (upper bound)" : "teacher ViT";
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (size_t i = 0; i < sets.size(); ++i) {
    const eval::ProductMass& m = masses[i];
    std::printf("%-20s %s%s\n", sets[i].c_str(), eval::DescribeTeacherMass(m, mask).c_str(),
                eval::TeacherBelowUniform(m) ? "  (WEAK: at or below uniform)" : "");
    *weak = *weak || eval::TeacherBelowUniform(m);
    rows.push_back({{"set", sets[i]},
                    {"listings", m.listings},
                    {"teacher_on_product", m.on_product},
                    {"teacher_uniform", m.uniform}});
  }
  (*report)["results"] = rows;
  return Status::Ok();
}

Status WriteReport(const nlohmann::ordered_json& report) {
  if (FLAGS_out.empty()) return Status::Ok();
  std::ofstream out(FLAGS_out);
  out << report.dump(2) << "\n";
  if (!out) return Status::Error(FLAGS_out + ": cannot write");
  return Status::Ok();
}

void PrintTable(const nlohmann::ordered_json& report) {
  std::printf("%-20s %8s %8s %8s %8s %8s %8s %9s %9s  (titles: %s, images: %s)\n", "set", "queries",
              "gallery", "R@1", "R@5", "R@10", "mAP", "R@1 attr", "ground",
              FLAGS_title_mode.c_str(), FLAGS_item_images.c_str());
  for (const auto& r : report["results"]) {
    char attr[32] = "-", ground[32] = "-";
    if (r.contains("recall@1_attribute_matched"))
      std::snprintf(attr, sizeof(attr), "%.4f", r["recall@1_attribute_matched"].get<double>());
    if (r.contains("ground_on_product"))
      std::snprintf(ground, sizeof(ground), "%.3f/%.3f", r["ground_on_product"].get<double>(),
                    r["ground_uniform"].get<double>());
    std::printf("%-20s %8lld %8lld %8.4f %8.4f %8.4f %8.4f %9s %9s\n",
                r["set"].get<std::string>().c_str(), r["queries"].get<long long>(),
                r["gallery"].get<long long>(), r["recall@1"].get<double>(),
                r["recall@5"].get<double>(), r["recall@10"].get<double>(), r["map"].get<double>(),
                attr, ground);
    if (r.contains("teacher") && r["teacher"] == "mask (upper bound)") {
      std::printf(
          "%s: the mask teacher (the product box as SRD's target) puts %.3f on the "
          "product, a uniform map %.3f: an upper bound by construction\n",
          r["set"].get<std::string>().c_str(), r["teacher_on_product"].get<double>(),
          r["teacher_uniform"].get<double>());
    } else if (r.contains("teacher_on_product")) {
      eval::ProductMass m;
      m.on_product = r["teacher_on_product"].get<double>();
      m.uniform = r["teacher_uniform"].get<double>();
      m.listings = 1;
      if (eval::TeacherBelowUniform(m))
        std::printf(
            "WARNING %s: the teacher's SRD map puts %.3f on the product, below a uniform "
            "map's %.3f: SRD pulls the grounding away from the product\n",
            r["set"].get<std::string>().c_str(), m.on_product, m.uniform);
    }
  }
  std::printf(
      "R@1 attr: Recall@1 among the listings whose titles share the query's colour and "
      "category; ground: the grounding map's mass on the product / a uniform map's\n");
}

}  // namespace

int RunEval() {
  nlohmann::ordered_json report;
  if (FLAGS_teacher_only) {
    bool weak = false;
    Status st = CheckTeacher(&report, &weak);
    if (st.ok()) st = WriteReport(report);
    if (!st.ok()) return ReportError("eval", st);
    if (weak && !FLAGS_allow_weak_teacher) {
      std::fprintf(stderr,
                   "tigerfg eval: the teacher's map is at or below a uniform map's: distilling "
                   "from it pulls the grounding away from the product (--allow_weak_teacher "
                   "accepts it)\n");
      return 3;
    }
    return 0;
  }
  Status st = Evaluate(&report);
  if (st.ok()) st = WriteReport(report);
  if (!st.ok()) return ReportError("eval", st);
  PrintTable(report);
  return 0;
}

}  // namespace tigerfg::launcher
