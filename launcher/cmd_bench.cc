// launcher/cmd_bench.cc — `tigerfg bench --config C --batch B --steps N`: training-step throughput
// on synthetic data (forward, losses, backward and AdamW), median over the timed steps, with model
// TFLOP/s, MFU, peak memory and the median of each phase (runtime/profile/).
#include <omp.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/core/buffer.h"
#include "model/tigerfg_model.h"
#include "runtime/core/peak_memory.h"
#include "runtime/core/step_timer.h"
#include "runtime/core/trace.h"
#include "runtime/train/flops.h"
#include "runtime/train/optimizer.h"
#include "runtime/data/synthetic_data.h"

DEFINE_int32(warmup, 3, "bench: untimed steps first");

namespace tigerfg::launcher {

namespace {

using profile::Phase;

// The stderr table: one row per phase, its median and its share of the median step.
void PrintTable(const nlohmann::ordered_json& r) {
  const double step = r["step_s_median"].get<double>();
  std::fprintf(stderr, "bench %s, batch %lld, %s, %s\n", r["config"].get<std::string>().c_str(),
               static_cast<long long>(r["batch"].get<int64_t>()),
               r["device"].get<std::string>().c_str(), r["precision"].get<std::string>().c_str());
  std::fprintf(stderr, "  %-14s %10s %7s\n", "phase", "median ms", "share");
  for (int p = 0; p < profile::kNumPhases; ++p) {
    const std::string name = profile::PhaseName(static_cast<Phase>(p));
    const double s = r[name + "_s_median"].get<double>();
    std::fprintf(stderr, "  %-14s %10.3f %6.1f%%\n", name.c_str(), s * 1e3, 100 * s / step);
  }
  std::fprintf(stderr, "  %-14s %10.3f\n", "step", step * 1e3);
  std::fprintf(stderr,
               "  %.1f samples/s, %.4g model TFLOP/s, MFU %.2f%% of %.0f TFLOP/s, peak memory "
               "%.3f GiB (%s)\n",
               r["samples_per_s"].get<double>(), r["model_tflops"].get<double>(),
               100 * r["mfu"].get<double>(), r["peak_tflops"].get<double>(),
               r["peak_mem_gib"].get<double>(), r["peak_mem_source"].get<std::string>().c_str());
}

}  // namespace

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
  if (!(FLAGS_peak_tflops > 0))
    return ReportError("bench", Status::Error("--peak_tflops must be > 0, got " +
                                              std::to_string(FLAGS_peak_tflops)));
  profile::TraceWriter trace;
  if (!FLAGS_trace.empty()) {
    Status opened = trace.Open(FLAGS_trace, /*rank=*/0);
    if (!opened.ok()) return ReportError("bench", opened);
  }
  ConfigureCpuThreads(cfg->train().threads());

  auto selected = SelectDevice(cfg->train().device(), "local");
  if (!selected.ok()) return ReportError("bench", selected.status());
  const Context& ctx = *selected;
  StatusOr<config::Precision> precision =
      model::ResolvePrecision(cfg->model(), cfg->train().precision(), ctx);
  if (!precision.ok()) return ReportError("bench", precision.status());
  StatusOr<model::AttentionKernel> attention =
      model::ResolveAttention(cfg->model(), cfg->train().attention(), *precision, ctx);
  if (!attention.ok()) return ReportError("bench", attention.status());
  model::TigerFGModel net(cfg->model(), batch_size, ctx, /*world_size=*/1, *precision,
                          cfg->train().recompute_blocks(), *attention);
  {
    Buffer host(DType::kF32, Shape{net.table().total_numel()});
    model::InitParams(net.table(), cfg->model(), cfg->train().seed(), host.f32());
    net.CopyParamsFromHost(host.f32());
  }
  train::AdamW optimizer(net.table(), cfg->optim(), FLAGS_warmup + steps, ctx);
  train::SyntheticSource source(cfg->model(), cfg->data(), cfg->train().seed());
  // The step of one rank as the trainer runs it (TigerFGModel::Step's parts, so that each phase
  // is timed); product ids staged on the device once, not inside the step.
  constexpr int kBatches = 3;  // rotate a few batches, like the spec's bench
  std::vector<Batch> batches;
  std::vector<Buffer> product_ids;
  for (int i = 0; i < kBatches; ++i) {
    batches.push_back(source.MakeBatch(batch_size));
    source.Fill(batches.back(), i * batch_size);
    product_ids.emplace_back(ctx, DType::kI64, Shape{batch_size});
    CopyFromHost(ctx, product_ids.back().tensor(), batches.back().product_ids);
  }
  Buffer dq(ctx, DType::kF32, Shape{batch_size, net.embed_dim()});
  Buffer de(ctx, DType::kF32, Shape{batch_size, net.embed_dim()});

  profile::StepTimer timer(ctx);
  profile::PeakMemory memory(ctx);
  std::vector<double> times;
  std::vector<std::vector<double>> phase_times(profile::kNumPhases);
  double loss = 0;
  for (int i = 0; i < FLAGS_warmup + steps; ++i) {
    // Synthetic batches are ready: the data phase measures only picking one (near 0).
    timer.BeginStep(i, Phase::kDataWait);
    const Batch& batch = batches[i % kBatches];
    const Tensor ids = product_ids[i % kBatches].tensor();
    timer.Enter(Phase::kForward);
    net.ZeroGrads();
    net.EncodeForward(batch);
    timer.Enter(Phase::kLoss);
    loss = net.LossForwardBackward(net.query_emb(), net.item_emb(), net.teacher_item(), ids,
                                   /*row0=*/0, dq.tensor(), de.tensor())
               .total;
    timer.Enter(Phase::kBackward);
    net.EncodeBackward(dq.tensor(), de.tensor());
    // One process, no communicator: exposed communication is never entered and stays 0.
    timer.Enter(Phase::kOptimizer);
    optimizer.Step(ctx, net.params(), net.grads(), i);
    const profile::StepProfile& prof = timer.EndStep();
    memory.Sample();
    trace.WriteStep(prof);
    if (i < FLAGS_warmup) continue;
    times.push_back(prof.step_s);
    for (int p = 0; p < profile::kNumPhases; ++p) phase_times[p].push_back(prof.phase_s[p]);
  }
  const double median = profile::Median(times);
  const double flops = train::StepFlops(cfg->model(), batch_size);
  const double tflops = flops / median / 1e12;
  nlohmann::ordered_json result;
  result["config"] = FLAGS_config;
  result["batch"] = batch_size;
  result["device"] =
      ctx.is_cuda() ? "cuda" : "cpu x" + std::to_string(omp_get_max_threads()) + " threads";
  result["precision"] = config::Precision_Name(net.precision());
  result["attention"] = model::AttentionKernelName(net.attention());
  result["recompute_blocks"] = cfg->train().recompute_blocks();
  result["activation_bytes"] = net.activation_bytes();
  result["steps"] = steps;
  result["step_s_median"] = median;
  result["samples_per_s"] = static_cast<double>(batch_size) / median;
  result["model_gflops"] = tflops * 1e3;
  result["model_tflops"] = tflops;
  result["peak_tflops"] = FLAGS_peak_tflops;
  result["mfu"] = tflops / FLAGS_peak_tflops;
  result["flops_per_sample"] = flops / static_cast<double>(batch_size);
  result["peak_mem_bytes"] = memory.peak_bytes();
  result["peak_mem_gib"] = memory.peak_gib();
  result["peak_mem_source"] = memory.source();
  // Medians of each phase over the timed steps (they need not add up to the median step).
  for (int p = 0; p < profile::kNumPhases; ++p)
    result[std::string(profile::PhaseName(static_cast<Phase>(p))) + "_s_median"] =
        profile::Median(phase_times[p]);
  result["loss"] = loss;
  std::printf("%s\n", result.dump().c_str());
  PrintTable(result);
  Status closed = trace.Close();
  if (!closed.ok()) return ReportError("bench", closed);
  if (!FLAGS_out.empty()) {
    std::ofstream out(FLAGS_out);
    out << result.dump(2) << "\n";
    if (!out) return ReportError("bench", Status::Error(FLAGS_out + ": cannot write"));
  }
  return 0;
}

}  // namespace tigerfg::launcher
