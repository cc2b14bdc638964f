// launcher/cmd_bench.cc — `tigerfg bench --config C --batch B --steps N`: training-step throughput
// on synthetic data (forward, losses, backward and AdamW), median over the timed steps.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "model/tigerfg_model.h"
#include "runtime/train/flops.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/synthetic_data.h"

DEFINE_int32(warmup, 3, "bench: untimed steps first");

namespace tigerfg::launcher {

int RunBench() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("bench", cfg.status());
  int64_t batch_size = cfg->train().global_batch();
  if (!FLAGS_batch.empty()) {
    char* end = nullptr;
    batch_size = std::strtoll(FLAGS_batch.c_str(), &end, 10);
    if (*end != '\0' || batch_size <= 0)
      return ReportError(
          "bench", Status::Error("--batch must be a positive integer, got '" + FLAGS_batch + "'"));
  }
  const int steps = FLAGS_steps > 0 ? FLAGS_steps : 10;
  if (FLAGS_warmup < 0) return ReportError("bench", Status::Error("--warmup must be >= 0"));
  ConfigureCpuThreads(cfg->train().threads());

  auto selected = SelectDevice(cfg->train().device(), "local");
  if (!selected.ok()) return ReportError("bench", selected.status());
  const Context& ctx = *selected;
  model::TigerFGModel net(cfg->model(), batch_size, ctx);
  {
    Buffer host(DType::kF32, Shape{net.table().total_numel()});
    model::InitParams(net.table(), cfg->model(), cfg->train().seed(), host.f32());
    net.CopyParamsFromHost(host.f32());
  }
  train::AdamW optimizer(net.table(), cfg->optim(), FLAGS_warmup + steps, ctx);
  train::SyntheticSource source(cfg->model(), cfg->data(), cfg->train().seed());
  std::vector<Batch> batches;
  for (int i = 0; i < 3; ++i) {  // rotate a few batches, like the spec's bench
    batches.push_back(source.MakeBatch(batch_size));
    source.Fill(batches.back(), i * batch_size);
  }
  std::vector<double> times;
  double loss = 0;
  for (int i = 0; i < FLAGS_warmup + steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    loss = net.Step(batches[i % 3]).total;
    optimizer.Step(ctx, net.params(), net.grads(), i);
    const auto t1 = std::chrono::steady_clock::now();
    if (i >= FLAGS_warmup) times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double flops = train::StepFlops(cfg->model(), batch_size);
  nlohmann::ordered_json result;
  result["config"] = FLAGS_config;
  result["batch"] = batch_size;
  result["device"] =
      ctx.is_cuda() ? "cuda fp32" : "cpu x" + std::to_string(omp_get_max_threads()) + " threads";
  result["steps"] = steps;
  result["step_s_median"] = median;
  result["samples_per_s"] = static_cast<double>(batch_size) / median;
  result["model_gflops"] = flops / median / 1e9;
  result["flops_per_sample"] = flops / static_cast<double>(batch_size);
  result["loss"] = loss;
  std::printf("%s\n", result.dump().c_str());
  if (!FLAGS_out.empty()) {
    std::ofstream out(FLAGS_out);
    out << result.dump(2) << "\n";
    if (!out) return ReportError("bench", Status::Error(FLAGS_out + ": cannot write"));
  }
  return 0;
}

}  // namespace tigerfg::launcher
