// runtime/train/trainer.cc — the training loop on one rank.
#include "runtime/train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/tigerfg_model.h"
#include "runtime/safetensors.h"
#include "runtime/train/metrics.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/synthetic_data.h"
#include "runtime/train/weights_io.h"

namespace tigerfg::train {

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

StatusOr<TrainSummary> Train(const config::RunConfig& cfg, const TrainOptions& options,
                             comm::Communicator* comm) {
  (void)comm;
  const config::TrainConfig& tc = cfg.train();
  const int64_t global_batch = tc.global_batch();
  const int64_t local_batch = global_batch;
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Status::Error(options.out_dir + ": cannot create: " + ec.message());

  Context ctx = Context::Cpu();
  model::TigerFGModel model(cfg.model(), local_batch, ctx);
  const ParamTable& table = model.table();
  model::InitParams(table, cfg.model(), static_cast<uint64_t>(tc.seed()), model.params());
  if (!options.init_weights.empty())
    TIGERFG_RETURN_IF_ERROR(LoadWeights(options.init_weights, table, model.params(),
                                        /*require_all=*/true));
  AdamW optimizer(table, cfg.optim(), tc.steps());
  SyntheticSource source(cfg.model(), cfg.data(), static_cast<uint64_t>(tc.seed()));
  Batch batch = source.MakeBatch(local_batch);

  MetricsWriter metrics;
  TIGERFG_RETURN_IF_ERROR(metrics.Open(options.out_dir + "/metrics.jsonl", /*append=*/false));

  TrainSummary summary;
  std::vector<double> step_times;
  for (int64_t step = 0; step < tc.steps(); ++step) {
    const auto t0 = Clock::now();
    source.Fill(batch, step * global_batch);
    TIGERFG_RETURN_IF_ERROR(model::ValidateBatch(cfg.model(), batch));
    const auto t1 = Clock::now();
    const model::LossTerms terms = model.Step(batch);
    const auto t2 = Clock::now();
    const OptimStepInfo info = optimizer.Step(ctx, model.params(), model.grads(), step);
    const auto t3 = Clock::now();
    if (!std::isfinite(terms.total))
      return Status::Error("step " + std::to_string(step) + ": loss is not finite (" +
                           std::to_string(terms.total) + "); lower optim.lr?");
    const double step_s = Seconds(t0, t3);
    step_times.push_back(step_s);
    if (step == 0) summary.first_loss = terms.total;
    summary.last_loss = terms.total;
    nlohmann::ordered_json rec;
    rec["step"] = step;
    rec["loss"] = terms.total;
    rec["contrastive"] = terms.contrastive;
    if (terms.has_srd) rec["srd"] = terms.srd;
    if (terms.has_sdd) rec["sdd"] = terms.sdd;
    rec["lr"] = info.lr;
    rec["grad_norm"] = info.grad_norm;
    rec["samples_per_s"] = static_cast<double>(global_batch) / step_s;
    rec["step_s"] = step_s;
    rec["data_s"] = Seconds(t0, t1);
    rec["fwd_bwd_s"] = Seconds(t1, t2);
    rec["optimizer_s"] = Seconds(t2, t3);
    metrics.Write(rec);
    if (tc.log_every() > 0 && (step % tc.log_every() == 0 || step + 1 == tc.steps()))
      LOG(INFO) << "step " << step << " loss " << terms.total << " lr " << info.lr
                << " grad_norm " << info.grad_norm << " " << rec["samples_per_s"].get<double>()
                << " samples/s";
  }
  summary.steps = tc.steps();
  if (!step_times.empty()) {
    std::vector<double> sorted = step_times;
    std::sort(sorted.begin(), sorted.end());
    summary.median_step_s = sorted[sorted.size() / 2];
    summary.samples_per_s = static_cast<double>(global_batch) / summary.median_step_s;
  }
  TIGERFG_RETURN_IF_ERROR(
      SaveWeights(options.out_dir + "/final.safetensors", table, model.params(),
                  {{"step", std::to_string(tc.steps())}}));
  return summary;
}

}  // namespace tigerfg::train
