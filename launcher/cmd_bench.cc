// launcher/cmd_bench.cc — `tigerfg bench --config C --batch B --steps N`: training-step throughput
// on synthetic data (forward, losses, backward and AdamW), median over the timed steps, with model
// TFLOP/s, MFU, peak memory and the median of each phase (runtime/core: step_timer, trace,
// peak_memory). train.micro_batch runs chunked steps; --memory_gb reports the largest batch whose
// step fits that budget with and without chunking (runtime/train/memory_budget.h).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "model/tigerfg_model.h"
#include "ops/op_timeline.h"
#include "runtime/core/buffer.h"
#include "runtime/core/peak_memory.h"
#include "runtime/core/step_timer.h"
#include "runtime/core/trace.h"
#include "runtime/data/synthetic_data.h"
#include "runtime/train/flops.h"
#include "runtime/train/memory_budget.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/step_runner.h"

DEFINE_int32(warmup, 3, "bench: untimed steps first");
DEFINE_double(memory_gb, 0,
              "bench: also report the largest batch whose step fits this many GiB of device "
              "memory, unchunked and with train.micro_batch (1 when unset); 0 = skip");
DEFINE_int32(op_table_steps, 0,
             "bench: after the timed steps, this many more with the time of every op recorded "
             "(ops/op_timeline.h): op_table in the JSON, the top ops on stderr; 0 = none");
DEFINE_bool(uint8_images, false,
            "bench: the batches' images as U8 pixels (the training loader's form), normalised by "
            "the model; on CUDA staged through the pinned ring, the next batch one step ahead");

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
  if (r.contains("memory_budget_gib")) {
    std::fprintf(stderr,
                 "  in %.3g GiB: batch %lld unchunked, %lld with train.micro_batch %lld (step "
                 "memory here %.3g GiB)\n",
                 r["memory_budget_gib"].get<double>(),
                 static_cast<long long>(r["max_batch_unchunked"].get<int64_t>()),
                 static_cast<long long>(r["max_batch_chunked"].get<int64_t>()),
                 static_cast<long long>(r["budget_micro_batch"].get<int64_t>()),
                 r["step_mem_estimate_gib"].get<double>());
  }
  if (r.contains("op_table")) {
    std::fprintf(stderr, "  %-28s %8s %10s %7s   (%lld steps after the timed ones)\n", "op",
                 "calls", "ms/step", "share",
                 static_cast<long long>(r["op_table_steps"].get<int64_t>()));
    int shown = 0;
    for (const auto& row : r["op_table"]) {
      if (++shown > 20) break;
      std::fprintf(stderr, "  %-28s %8.1f %10.3f %6.1f%%\n", row["op"].get<std::string>().c_str(),
                   row["calls_per_step"].get<double>(), row["ms_per_step"].get<double>(),
                   100 * row["share"].get<double>());
    }
  }
  std::fprintf(stderr,
               "  %.1f samples/s, %.4g model TFLOP/s, MFU %.2f%% of %.0f TFLOP/s, peak memory "
               "%.3f GiB (%s)\n",
               r["samples_per_s"].get<double>(), r["model_tflops"].get<double>(),
               100 * r["mfu"].get<double>(), r["peak_tflops"].get<double>(),
               r["peak_mem_gib"].get<double>(), r["peak_mem_source"].get<std::string>().c_str());
}

struct BenchOptions {
  int64_t batch_size = 0;
  int warmup = 0, steps = 0, op_table_steps = 0;
};

StatusOr<BenchOptions> BenchOptionsFromFlags(const config::RunConfig& cfg) {
  BenchOptions o;
  o.batch_size = cfg.train().global_batch();
  if (!FLAGS_batch.empty()) {
    char* end = nullptr;
    o.batch_size = std::strtoll(FLAGS_batch.c_str(), &end, 10);
    if (*end != '\0' || o.batch_size <= 0)
      return Status::Error("--batch must be a positive integer, got '" + FLAGS_batch + "'");
  }
  o.steps = FLAGS_steps > 0 ? FLAGS_steps : 10;
  if (FLAGS_warmup < 0) return Status::Error("--warmup must be >= 0");
  o.warmup = FLAGS_warmup;
  if (FLAGS_op_table_steps < 0) return Status::Error("--op_table_steps must be >= 0");
  o.op_table_steps = FLAGS_op_table_steps;
  if (!(FLAGS_peak_tflops > 0))
    return Status::Error("--peak_tflops must be > 0, got " + std::to_string(FLAGS_peak_tflops));
  if (!(FLAGS_memory_gb >= 0))
    return Status::Error("--memory_gb must be >= 0, got " + std::to_string(FLAGS_memory_gb));
  TIGERFG_RETURN_IF_ERROR(train::CheckMicroBatch(cfg.train().micro_batch(), o.batch_size, 1));
  return o;
}

// data.mean or data.std per channel (empty: 0.5; one value: every channel).
std::vector<float> PerChannel(const google::protobuf::RepeatedField<float>& values, int channels) {
  if (values.empty()) return std::vector<float>(channels, 0.5f);
  if (values.size() == 1) return std::vector<float>(channels, values[0]);
  return std::vector<float>(values.begin(), values.end());
}

// --uint8_images: the synthetic images quantised to the pixels that normalise back to them.
void ToPixels(const config::RunConfig& cfg, Batch* batch) {
  const int channels = cfg.model().query().channels();
  const std::vector<float> mean = PerChannel(cfg.data().mean(), channels);
  const std::vector<float> std = PerChannel(cfg.data().std(), channels);
  batch->image_norm = MakeImageNorm(mean, std);
  for (Buffer* images : {&batch->query_images, &batch->item_images}) {
    Buffer pixels(DType::kU8, images->shape());
    auto* out = static_cast<uint8_t*>(pixels.data());
    const int64_t plane = images->shape()[2] * images->shape()[3];
    for (int64_t i = 0; i < images->numel(); ++i) {
      const int c = static_cast<int>(i / plane % channels);
      const float p = (images->f32()[i] * std[c] + mean[c]) * 255.0f;
      out[i] = static_cast<uint8_t>(std::clamp(std::lround(p), 0L, 255L));
    }
    *images = std::move(pixels);
  }
}

// The synthetic batches bench rotates (like the spec's bench), their product ids staged on the
// device once, not inside the step.
struct BenchBatches {
  static constexpr int kCount = 3;
  std::vector<Batch> batches;
  std::vector<Buffer> product_ids;
  BenchBatches(const config::RunConfig& cfg, int64_t batch_size, const Context& ctx) {
    train::SyntheticSource source(cfg.model(), cfg.data(), cfg.train().seed());
    for (int i = 0; i < kCount; ++i) {
      batches.push_back(source.MakeBatch(batch_size));
      source.Fill(batches.back(), i * batch_size);
      if (FLAGS_uint8_images) ToPixels(cfg, &batches.back());
      product_ids.emplace_back(ctx, DType::kI64, Shape{batch_size});
      CopyFromHost(ctx, product_ids.back().tensor(), batches.back().product_ids);
    }
  }
};

// What the timed steps measured.
struct BenchTimes {
  std::vector<double> step_s;
  std::vector<std::vector<double>> phase_s = std::vector<std::vector<double>>(profile::kNumPhases);
  double loss = 0;
};

// Warmup and timed steps of one process (no communicator: exposed communication stays 0), each
// written to the trace. As in `train`, step i+1 begins (and on CUDA its U8 inputs go onto the copy
// stream) before step i is read, so the steps' times tile the device's timeline.
StatusOr<BenchTimes> RunSteps(train::StepRunner& runner, model::TigerFGModel& net,
                              const BenchBatches& data, const BenchOptions& o,
                              profile::PeakMemory& memory, profile::TraceWriter& trace) {
  BenchTimes times;
  // U8 batches on CUDA, unchunked: model::TigerFGModel::StageInputs (a no-op otherwise).
  const bool ahead = FLAGS_uint8_images && net.micro_batch() == net.local_batch();
  const int total = o.warmup + o.steps;
  // Synthetic batches are ready: the data phase measures only picking one and staging it.
  const auto begin = [&](int i) {
    runner.BeginStep(i);
    if (ahead) net.StageInputs(data.batches[i % BenchBatches::kCount]);
  };
  begin(0);
  for (int i = 0; i < total; ++i) {
    runner.Launch(data.batches[i % BenchBatches::kCount], i,
                  data.product_ids[i % BenchBatches::kCount].tensor());
    if (i + 1 < total) begin(i + 1);
    TIGERFG_ASSIGN_OR_RETURN(train::StepResult result, runner.Collect());
    times.loss = result.local.total;
    const profile::StepProfile& prof = *result.profile;
    memory.Sample();
    trace.WriteStep(prof);
    if (i < o.warmup) continue;
    times.step_s.push_back(prof.step_s);
    for (int p = 0; p < profile::kNumPhases; ++p) times.phase_s[p].push_back(prof.phase_s[p]);
  }
  return times;
}

// --op_table_steps: that many steps more, each op's time recorded at its dispatch; per step, the
// most time first, with each op's share of the ops' total.
nlohmann::ordered_json OpTable(train::StepRunner& runner, model::TigerFGModel& net,
                               const BenchBatches& data, const BenchOptions& o) {
  ops::OpTimeline timeline(net.context());
  const bool ahead = FLAGS_uint8_images && net.micro_batch() == net.local_batch();
  for (int j = 0; j < o.op_table_steps; ++j) {
    const int i = o.warmup + o.steps + j;
    const int k = i % BenchBatches::kCount;
    runner.BeginStep(i);
    if (ahead) net.StageInputs(data.batches[k]);
    timeline.Begin();
    runner.Launch(data.batches[k], i, data.product_ids[k].tensor());
    timeline.End();
    (void)runner.Collect();  // a diverged loss was reported by the timed steps already
  }
  double total = 0;
  const std::vector<ops::OpTimeline::Row> rows = timeline.Table();
  for (const ops::OpTimeline::Row& row : rows) total += row.seconds;
  nlohmann::ordered_json table = nlohmann::ordered_json::array();
  const double steps = std::max(o.op_table_steps, 1);
  for (const ops::OpTimeline::Row& row : rows) {
    table.push_back({{"op", row.op},
                     {"calls_per_step", static_cast<double>(row.calls) / steps},
                     {"ms_per_step", 1e3 * row.seconds / steps},
                     {"share", total > 0 ? row.seconds / total : 0.0}});
  }
  return table;
}

nlohmann::ordered_json BenchJson(const config::RunConfig& cfg, const BenchOptions& o,
                                 const Context& ctx, const model::TigerFGModel& net,
                                 const BenchTimes& times, const profile::PeakMemory& memory) {
  const double median = profile::Median(times.step_s);
  const double flops = train::StepFlops(cfg.model(), o.batch_size);
  const double tflops = flops / median / 1e12;
  nlohmann::ordered_json result;
  result["config"] = FLAGS_config;
  result["batch"] = o.batch_size;
  result["device"] =
      ctx.is_cuda() ? "cuda" : "cpu x" + std::to_string(omp_get_max_threads()) + " threads";
  result["precision"] = config::Precision_Name(net.precision());
  result["attention"] = model::AttentionKernelName(net.attention());
  result["recompute_blocks"] = cfg.train().recompute_blocks();
  result["micro_batch"] = net.micro_batch();
  result["activation_bytes"] = net.activation_bytes();
  result["steps"] = o.steps;
  result["uint8_images"] = FLAGS_uint8_images;
  // Host-to-device image bytes per step (what a GPU copies; U8 is a quarter of F32).
  result["image_bytes_per_step"] =
      (cfg.model().query().image_size() * cfg.model().query().image_size() +
       cfg.model().item().image_size() * cfg.model().item().image_size()) *
      int64_t{cfg.model().query().channels()} * o.batch_size * (FLAGS_uint8_images ? 1 : 4);
  result["step_s_median"] = median;
  result["samples_per_s"] = static_cast<double>(o.batch_size) / median;
  result["model_gflops"] = tflops * 1e3;
  result["model_tflops"] = tflops;
  result["peak_tflops"] = FLAGS_peak_tflops;
  result["mfu"] = tflops / FLAGS_peak_tflops;
  result["flops_per_sample"] = flops / static_cast<double>(o.batch_size);
  result["peak_mem_bytes"] = memory.peak_bytes();
  result["peak_mem_gib"] = memory.peak_gib();
  result["peak_mem_source"] = memory.source();
  // The step's device memory by the sizes the code allocates (runtime/train/memory_budget.h).
  result["step_mem_estimate_gib"] =
      static_cast<double>(
          train::StepMemoryBytes(net, o.batch_size, 1, cfg.train().micro_batch()).total()) /
      (1 << 30);
  // Medians of each phase over the timed steps (they need not add up to the median step).
  for (int p = 0; p < profile::kNumPhases; ++p)
    result[std::string(profile::PhaseName(static_cast<Phase>(p))) + "_s_median"] =
        profile::Median(times.phase_s[p]);
  result["loss"] = times.loss;
  return result;
}

// --memory_gb: the largest batch (one rank) whose step fits the budget, unchunked and chunked.
void AddBudget(const config::RunConfig& cfg, const model::TigerFGModel& net,
               nlohmann::ordered_json* result) {
  if (FLAGS_memory_gb <= 0) return;
  const double budget = FLAGS_memory_gb * (1 << 30);
  const int64_t micro = cfg.train().micro_batch() > 0 ? cfg.train().micro_batch() : 1;
  (*result)["memory_budget_gib"] = FLAGS_memory_gb;
  (*result)["max_batch_unchunked"] = train::LargestBatchThatFits(net, budget, 1, 0);
  (*result)["budget_micro_batch"] = micro;
  (*result)["max_batch_chunked"] = train::LargestBatchThatFits(net, budget, 1, micro);
  // The trade-off at a few micro batches: smaller chunks, larger batches, smaller GEMMs.
  nlohmann::ordered_json by_micro;
  for (int64_t m : {1, 4, 16, 64})
    by_micro[std::to_string(m)] = train::LargestBatchThatFits(net, budget, 1, m);
  (*result)["max_batch_by_micro_batch"] = by_micro;
}

// The JSON line on stdout, the table on stderr, the file --out when given.
Status Report(const nlohmann::ordered_json& result, profile::TraceWriter& trace) {
  std::printf("%s\n", result.dump().c_str());
  PrintTable(result);
  TIGERFG_RETURN_IF_ERROR(trace.Close());
  if (!FLAGS_out.empty()) {
    std::ofstream out(FLAGS_out);
    out << result.dump(2) << "\n";
    if (!out) return Status::Error(FLAGS_out + ": cannot write");
  }
  return Status::Ok();
}

StatusOr<nlohmann::ordered_json> Bench(const config::RunConfig& cfg, const BenchOptions& o,
                                       profile::TraceWriter& trace) {
  TIGERFG_ASSIGN_OR_RETURN(const Context ctx, SelectDevice(cfg.train().device(), "local"));
  TIGERFG_ASSIGN_OR_RETURN(config::Precision precision,
                           model::ResolvePrecision(cfg.model(), cfg.train().precision(), ctx));
  TIGERFG_ASSIGN_OR_RETURN(
      const model::AttentionKernel attention,
      model::ResolveAttention(cfg.model(), cfg.train().attention(), precision, ctx));
  model::TigerFGModel net(cfg.model(), o.batch_size, ctx, /*world_size=*/1, precision,
                          cfg.train().recompute_blocks(), attention, cfg.train().micro_batch());
  {
    Buffer host(DType::kF32, Shape{net.table().total_numel()});
    model::InitParams(net.table(), cfg.model(), cfg.train().seed(), host.f32());
    net.CopyParamsFromHost(host.f32());
  }
  train::AdamW optimizer(net.table(), cfg.optim(), o.warmup + o.steps + o.op_table_steps, ctx);
  const BenchBatches data(cfg, o.batch_size, ctx);
  train::StepRunner runner(net, /*comm=*/nullptr, &optimizer);
  profile::PeakMemory memory(ctx);
  TIGERFG_ASSIGN_OR_RETURN(BenchTimes times, RunSteps(runner, net, data, o, memory, trace));
  nlohmann::ordered_json result = BenchJson(cfg, o, ctx, net, times, memory);
  if (o.op_table_steps > 0) {
    result["op_table_steps"] = o.op_table_steps;
    result["op_table"] = OpTable(runner, net, data, o);
  }
  AddBudget(cfg, net, &result);
  return result;
}

}  // namespace

int RunBench() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("bench", cfg.status());
  auto options = BenchOptionsFromFlags(*cfg);
  if (!options.ok()) return ReportError("bench", options.status());
  profile::TraceWriter trace;
  if (!FLAGS_trace.empty()) {
    Status opened = trace.Open(FLAGS_trace, /*rank=*/0);
    if (!opened.ok()) return ReportError("bench", opened);
  }
  ConfigureCpuThreads(cfg->train().threads());
  auto result = Bench(*cfg, *options, trace);
  if (!result.ok()) return ReportError("bench", result.status());
  Status reported = Report(*result, trace);
  if (!reported.ok()) return ReportError("bench", reported);
  return 0;
}

}  // namespace tigerfg::launcher
