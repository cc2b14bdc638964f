// runtime/train/trainer.cc — the training loop on one rank of any world size (DESIGN.md §3): set
// up, resume, then per step the data, the step (runtime/train/step_runner.h), metrics and
// checkpoints, and the final weights.
#include "runtime/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "comm/communicator.h"
#include "model/tigerfg_model.h"
#include "ops/flash_attention.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/core/buffer.h"
#include "runtime/core/peak_memory.h"
#include "runtime/core/step_timer.h"
#include "runtime/core/trace.h"
#include "runtime/data/batch_source.h"
#include "runtime/train/flops.h"
#include "runtime/train/metrics.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/out_dir.h"
#include "runtime/train/rank_agreement.h"
#include "runtime/train/step_runner.h"

namespace tigerfg::train {

namespace {

using profile::Phase;

// Every rank reads the checkpoint itself (a shared filesystem) into the parameters and the
// optimizer's moments; the step and the data cursor come back.
// params, m, v are host buffers.
StatusOr<LoadedCheckpoint> LoadForResume(const std::string& path, const config::RunConfig& cfg,
                                         const ParamTable& table, float* params, float* m,
                                         float* v) {
  TIGERFG_ASSIGN_OR_RETURN(std::string dir, ResolveCheckpoint(path));
  TIGERFG_ASSIGN_OR_RETURN(checkpoint::Manifest manifest, ReadManifest(dir));
  TIGERFG_RETURN_IF_ERROR(CheckSameModel(manifest, cfg.model()).WithContext(dir));
  TIGERFG_ASSIGN_OR_RETURN(LoadedCheckpoint loaded, LoadCheckpoint(dir, table, params, m, v));
  if (loaded.step > cfg.train().steps())
    return Status::Error("train.steps: " + std::to_string(cfg.train().steps()) +
                         " is before the step of the checkpoint " + dir + " (" +
                         std::to_string(loaded.step) + ")");
  return loaded;
}

// A resumed run appends to metrics.jsonl; lines of steps at or after the resume point (written
// after the checkpoint by the interrupted run) are dropped so that every step appears once.
Status TrimMetrics(const std::string& path, int64_t start_step) {
  std::ifstream in(path);
  if (!in) return Status::Ok();
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto rec = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (rec.is_object() && rec.contains("step") && rec["step"].get<int64_t>() < start_step)
      kept += line + "\n";
  }
  in.close();
  std::ofstream out(path + ".tmp", std::ios::trunc);
  out << kept;
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0)
    return Status::Error(path + ": cannot rewrite for the resumed run");
  return Status::Ok();
}

// While rank 0 writes a checkpoint or the final weights the others wait in a collective: its
// watchdog timeout is extended to at least this (a slow filesystem is not a hung rank).
constexpr double kSaveTimeoutS = 1800;

// Rank 0 writes; every rank waits for it (the watchdog extended) and learns whether it worked.
Status SaveCheckpointOnRank0(RankAgreement& agree, const std::string& root,
                             const config::RunConfig& cfg, const ParamTable& table,
                             const CheckpointState& state,
                             const std::function<void(int64_t)>& mid_write) {
  Status saved = Status::Ok();
  if (agree.rank() == 0) {
    CheckpointWriteOptions write;
    write.keep_last = cfg.train().keep_last();
    if (mid_write) write.mid_write = [&mid_write, &state] { mid_write(state.step); };
    StatusOr<std::string> dir = SaveCheckpoint(root, cfg, table, state, write);
    if (dir.ok()) LOG(INFO) << "checkpoint " << *dir;
    saved = dir.ok() ? Status::Ok() : dir.status();
  }
  comm::Communicator& comm = agree.comm();
  comm.set_timeout_override_s(std::max(comm.timeout_s(), kSaveTimeoutS));
  const bool all_ok = agree.AllOk(saved.ok());
  comm.set_timeout_override_s(0);
  if (!all_ok) return saved.ok() ? Status::Error("saving the checkpoint failed on rank 0") : saved;
  return Status::Ok();
}

// Host copies of the optimizer state for checkpoints (the moments may live on the GPU).
struct HostState {
  Buffer params, m, v;
  HostState(const ParamTable& table)
      : params(DType::kF32, Shape{table.total_numel()}),
        m(DType::kF32, Shape{table.trainable_numel()}),
        v(DType::kF32, Shape{table.trainable_numel()}) {}
};

// One training run on this rank, in the named steps Train loops over.
class TrainRun {
 public:
  TrainRun(const config::RunConfig& cfg, const TrainOptions& options, comm::Communicator* comm,
           const Context& ctx)
      : cfg_(cfg),
        tc_(cfg.train()),
        options_(options),
        comm_(comm),
        ctx_(ctx),
        rank_(comm->rank()),
        world_(comm->world_size()),
        writer_(rank_ == 0),
        agree_(*comm, ctx) {}

  Status SetUp();
  Status Resume();
  Status StartData();
  // Launches the step on the batch fetched for it, then begins the next step and fetches its batch
  // while this one runs on the device.
  Status Step(int64_t step);
  Status EndOfStep(int64_t step);
  Status MaybeCheckpoint(int64_t done);
  Status Checkpoint(int64_t done);
  StatusOr<TrainSummary> Finish();
  // After a stop request: the summary of the steps run, with `stopped` set.
  TrainSummary Stopped(int64_t done);
  int64_t start_step() const { return start_step_; }
  bool stop_agreed() const { return stop_agreed_; }

 private:
  Status CheckOptions();
  Status CreateModel();
  Status LoadInitialParams();
  Status OpenMetrics();
  void FetchAhead(int64_t step);
  Status NextBatch(int64_t step, Batch** batch);
  void Log(int64_t step, const StepResult& result);
  // Every rank's status is agreed on; a failure elsewhere becomes `elsewhere`.
  Status Agreed(const Status& mine, const std::string& elsewhere) {
    if (agree_.AllOk(mine.ok())) return Status::Ok();
    return mine.ok() ? Status::Error(elsewhere) : mine;
  }

  const config::RunConfig& cfg_;
  const config::TrainConfig& tc_;
  const TrainOptions& options_;
  comm::Communicator* comm_;
  const Context& ctx_;
  const int rank_, world_;
  const bool writer_;
  int64_t global_batch_ = 0, local_batch_ = 0;
  RankAgreement agree_;
  profile::TraceWriter trace_;
  std::unique_ptr<model::TigerFGModel> model_;
  std::unique_ptr<HostState> host_;
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<BatchSource> source_;
  std::unique_ptr<StepRunner> runner_;
  std::unique_ptr<profile::PeakMemory> memory_;
  MetricsWriter metrics_;
  double flops_ = 0;
  int64_t start_step_ = 0, start_cursor_ = 0;
  std::string resume_from_;
  TrainSummary summary_;
  std::vector<double> step_times_;
  // The batch fetched for the next step (FetchAhead), with the source's counters just after it:
  // the step launched on it reports them, and its checkpoint resumes after it.
  struct Fetched {
    Status status = Status::Ok();
    Batch* batch = nullptr;
    int64_t cursor = 0, bad = 0, seen = 0;
  };
  Fetched fetched_;
  int64_t cursor_ = 0;  // global samples consumed by the steps launched so far
  // Global counts of the loader's bad samples and reads (EndOfStep), and the local counts already
  // reported.
  int64_t bad_total_ = 0, seen_total_ = 0, bad_reported_ = 0, seen_reported_ = 0;
  bool stop_agreed_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

Status TrainRun::CheckOptions() {
  global_batch_ = tc_.global_batch();
  if (global_batch_ % world_ != 0)
    return Status::Error("train.global_batch: " + std::to_string(global_batch_) +
                         " does not divide by the world size " + std::to_string(world_));
  local_batch_ = global_batch_ / world_;
  TIGERFG_RETURN_IF_ERROR(CheckMicroBatch(tc_.micro_batch(), local_batch_, world_));
  if (!(options_.peak_tflops > 0))
    return Status::Error("--peak_tflops must be > 0, got " + std::to_string(options_.peak_tflops));
  // Rank 0 applies the out-dir policy; every rank learns whether it worked and whether to resume.
  StatusOr<std::string> resume = std::string();
  if (writer_)
    resume = PrepareOutDir({.out_dir = options_.out_dir,
                            .resume_from = options_.resume_from,
                            .resume_auto = options_.resume_auto,
                            .overwrite = options_.overwrite});
  TIGERFG_RETURN_IF_ERROR(Agreed(resume.status(), "--out_dir: failed on rank 0"));
  const bool resuming = !agree_.AllOk(!(writer_ && !resume->empty()));
  resume_from_ = !resuming                       ? ""
                 : !options_.resume_from.empty() ? options_.resume_from
                                                 : options_.out_dir + "/checkpoints";
  if (writer_ && options_.resume_auto)
    LOG(INFO) << "--resume=auto: " << (resuming ? "resuming from " + resume_from_ : "a fresh run");
  return Status::Ok();
}

// The model on ctx and the trace (an unwritable trace path fails before step 0).
Status TrainRun::CreateModel() {
  TIGERFG_ASSIGN_OR_RETURN(config::Precision precision,
                           model::ResolvePrecision(cfg_.model(), tc_.precision(), ctx_));
  TIGERFG_ASSIGN_OR_RETURN(const model::AttentionKernel attention,
                           model::ResolveAttention(cfg_.model(), tc_.attention(), precision, ctx_));
  ops::SetDeterministicAttention(tc_.deterministic());  // process-wide, for this run
  model_ =
      std::make_unique<model::TigerFGModel>(cfg_.model(), local_batch_, ctx_, world_, precision,
                                            tc_.recompute_blocks(), attention, tc_.micro_batch());
  if (!options_.trace_path.empty()) {
    const Status opened =
        trace_.Open(profile::RankTracePath(options_.trace_path, rank_, world_), rank_);
    TIGERFG_RETURN_IF_ERROR(Agreed(opened, "opening the trace (--trace) failed on another rank"));
  }
  return Status::Ok();
}

// Parameters are initialised and loaded on the host, then copied to the model's device.
Status TrainRun::LoadInitialParams() {
  const ParamTable& table = model_->table();
  host_ = std::make_unique<HostState>(table);
  model::InitParams(table, cfg_.model(), static_cast<uint64_t>(tc_.seed()), host_->params.f32());
  if (!options_.init_weights.empty()) {
    const Status loaded =
        LoadWeights(options_.init_weights, table, host_->params.f32(), /*require_all=*/true);
    TIGERFG_RETURN_IF_ERROR(Agreed(loaded, "loading initial weights failed on another rank"));
  }
  if (!options_.teacher_weights.empty()) {
    const Status loaded = model_->has_teacher()
                              ? LoadWeights(options_.teacher_weights, table, host_->params.f32(),
                                            /*require_all=*/true, {{"query.", "teacher."}})
                              : Status::Error("--teacher_weights: the config has no model.teacher");
    TIGERFG_RETURN_IF_ERROR(Agreed(loaded, "loading teacher weights failed on another rank"));
  }
  return Status::Ok();
}

Status TrainRun::SetUp() {
  TIGERFG_RETURN_IF_ERROR(CheckOptions());
  TIGERFG_RETURN_IF_ERROR(CreateModel());
  TIGERFG_RETURN_IF_ERROR(LoadInitialParams());
  optimizer_ = std::make_unique<AdamW>(model_->table(), cfg_.optim(), tc_.steps(), ctx_);
  return Status::Ok();
}

// Parameters, moments, step and data cursor from options.resume_from (when given); then every
// rank starts from rank 0's parameters.
Status TrainRun::Resume() {
  if (!resume_from_.empty()) {
    auto resumed = LoadForResume(resume_from_, cfg_, model_->table(), host_->params.f32(),
                                 host_->m.f32(), host_->v.f32());
    TIGERFG_RETURN_IF_ERROR(Agreed(resumed.status(), "resuming failed on another rank"));
    CopyFromHost(ctx_, optimizer_->m(), host_->m);
    CopyFromHost(ctx_, optimizer_->v(), host_->v);
    start_step_ = resumed->step;
    start_cursor_ = resumed->cursor;
    LOG(INFO) << "resuming from " << resumed->dir << " at step " << start_step_ << " (written by "
              << resumed->world_size << " rank(s), now " << world_ << ")";
  }
  model_->CopyParamsFromHost(host_->params.f32());
  comm_
      ->Broadcast(
          Tensor::F32(model_->params(), Shape{model_->table().total_numel()}, ctx_.device()), 0,
          "init_params")
      ->Wait();
  return Status::Ok();
}

// The data source at the resumed cursor, the step runner and metrics.jsonl.
Status TrainRun::StartData() {
  auto source = CreateBatchSource(cfg_, rank_, world_, start_cursor_);
  TIGERFG_RETURN_IF_ERROR(Agreed(source.status(), "the data source failed on another rank"));
  source_ = std::move(*source);
  runner_ = std::make_unique<StepRunner>(*model_, comm_, optimizer_.get(), cfg_.dist().bucket_mb());
  TIGERFG_RETURN_IF_ERROR(Agreed(OpenMetrics(), "opening metrics.jsonl failed on rank 0"));
  flops_ = StepFlops(cfg_.model(), global_batch_);
  memory_ = std::make_unique<profile::PeakMemory>(ctx_);
  cursor_ = start_cursor_;
  if (start_step_ < tc_.steps()) FetchAhead(start_step_);
  return Status::Ok();
}

Status TrainRun::OpenMetrics() {
  if (!writer_) return Status::Ok();
  const std::string path = options_.out_dir + "/metrics.jsonl";
  if (start_step_ > 0) TIGERFG_RETURN_IF_ERROR(TrimMetrics(path, start_step_));
  return metrics_.Open(path, /*append=*/start_step_ > 0);
}

// The step's batch, checked on every rank: one rank's bad data stops all of them. A good batch
// starts its way to the device before the check's collective waits.
Status TrainRun::NextBatch(int64_t step, Batch** batch) {
  StatusOr<Batch*> next = source_->Next();
  const Status data_ok = next.ok() ? model::ValidateBatch(cfg_.model(), **next) : next.status();
  if (data_ok.ok() && model_->micro_batch() == local_batch_) model_->StageInputs(**next);
  profile::StepTimer& timer = runner_->timer();
  const int status_span = timer.BeginSpan("all_reduce status");
  const bool all_ok = agree_.AllOk(data_ok.ok());
  timer.EndSpan(status_span);
  if (!all_ok)
    return data_ok.ok()
               ? Status::Error("step " + std::to_string(step) + ": the data failed on another rank")
               : data_ok.WithContext("step " + std::to_string(step));
  *batch = *next;
  return Status::Ok();
}

// Begins `step` (its data wait: on a GPU the time the device waits for the host from here to the
// step's forward) and fetches its batch, checked on every rank, into fetched_; on CUDA a U8 batch's
// copy to the device starts now, on the input ring's stream. A failure is kept for the step to
// return, so that the step before it still ends, is logged and checkpointed.
void TrainRun::FetchAhead(int64_t step) {
  runner_->BeginStep(step);
  Fetched next;
  next.status = NextBatch(step, &next.batch);
  next.cursor = source_->cursor();
  next.bad = source_->bad_samples();
  next.seen = source_->seen_samples();
  fetched_ = next;
}

// The step launched on the batch fetched for it: no read of its results on the host here
// (EndOfStep reads them). Its packed status carries whether this rank was asked to stop
// (preemption) and the data loader's bad samples and reads since the last step. The next step's
// batch is fetched while this one runs.
Status TrainRun::Step(int64_t step) {
  if (options_.before_step) options_.before_step(step);
  TIGERFG_RETURN_IF_ERROR(fetched_.status);
  const bool stop = options_.stop_requested && options_.stop_requested();
  const StepCounts counts{.stop = stop ? 1 : 0,
                          .bad = fetched_.bad - bad_reported_,
                          .seen = fetched_.seen - seen_reported_};
  bad_reported_ = fetched_.bad;
  seen_reported_ = fetched_.seen;
  cursor_ = fetched_.cursor;
  runner_->Launch(*fetched_.batch, step, Tensor(), counts);
  if (step + 1 < tc_.steps()) FetchAhead(step + 1);
  return Status::Ok();
}

// The step's results, read once at the step boundary from its packed status (one all-reduce for
// the loss terms, the failed ranks, the stop requests and the loader's counts): a loss that is not
// finite on any rank, or a data loader over its bad-sample budget (data.max_bad_fraction, checked
// over the whole job, so whether a run stops does not depend on the world size), ends the run
// here, before any checkpoint could take this step's weights; then the metrics.
Status TrainRun::EndOfStep(int64_t step) {
  TIGERFG_ASSIGN_OR_RETURN(StepResult result, runner_->Collect());
  stop_agreed_ = result.counts.stop > 0;
  bad_total_ += result.counts.bad;
  seen_total_ += result.counts.seen;
  const config::DataConfig& d = cfg_.data();
  const double budget = d.max_bad_fraction() *
                        static_cast<double>(std::max<int64_t>(seen_total_, d.bad_check_min_seen()));
  if (bad_total_ > 0 && static_cast<double>(bad_total_) > budget)
    return Status::Error("step " + std::to_string(step) + ": data: " + std::to_string(bad_total_) +
                         " bad samples out of " + std::to_string(seen_total_) +
                         " read by all ranks exceed " + "data.max_bad_fraction " +
                         std::to_string(d.max_bad_fraction()) +
                         " (the ranks' logs name the samples)");
  memory_->Sample();
  trace_.WriteStep(*result.profile);
  step_times_.push_back(result.profile->step_s);
  if (step == start_step_) summary_.first_loss = result.global.total;
  summary_.last_loss = result.global.total;
  if (writer_) Log(step, result);
  return Status::Ok();
}

// "1h02m", "3m05s", "12s".
std::string Duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

// One metrics.jsonl line (and every log_every steps a progress line) on rank 0.
void TrainRun::Log(int64_t step, const StepResult& result) {
  const profile::StepProfile& prof = *result.profile;
  const auto phase_s = [&prof](Phase p) { return prof.phase_s[static_cast<int>(p)]; };
  const double step_s = prof.step_s;
  const double tflops = flops_ / step_s / 1e12;
  const model::LossTerms& terms = result.global;
  nlohmann::ordered_json rec;
  rec["step"] = step;
  rec["loss"] = terms.total;
  // The terms travel as fp32 (the all-reduce); written as such.
  rec["contrastive"] = static_cast<float>(terms.contrastive);
  if (terms.has_srd) rec["srd"] = static_cast<float>(terms.srd);
  if (terms.has_sdd) rec["sdd"] = static_cast<float>(terms.sdd);
  rec["lr"] = result.optim.lr;
  rec["grad_norm"] = result.optim.grad_norm;
  rec["samples_per_s"] = static_cast<double>(global_batch_) / step_s;
  rec["model_gflops"] = tflops * 1e3;
  rec["model_tflops"] = tflops;
  rec["mfu"] = tflops / (options_.peak_tflops * world_);
  rec["peak_mem_bytes"] = memory_->peak_bytes();
  rec["peak_mem_gib"] = memory_->peak_gib();
  rec["step_s"] = step_s;
  rec["data_s"] = phase_s(Phase::kDataWait);
  rec["forward_s"] = phase_s(Phase::kForward);
  rec["loss_s"] = phase_s(Phase::kLoss);
  rec["backward_s"] = phase_s(Phase::kBackward);
  rec["exposed_comm_s"] = phase_s(Phase::kExposedComm);
  rec["optimizer_s"] = phase_s(Phase::kOptimizer);
  rec["world_size"] = world_;
  rec["samples_seen"] = cursor_;
  rec["skipped_samples"] = bad_total_;  // bad samples the loaders skipped so far, all ranks
  metrics_.Write(rec);
  if (tc_.log_every() > 0 && (step % tc_.log_every() == 0 || step + 1 == tc_.steps())) {
    // Progress: steps done of the total, this run's elapsed time and the ETA at its mean pace.
    const int64_t done = step + 1, run_done = done - start_step_;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const double eta =
        elapsed / static_cast<double>(run_done) * static_cast<double>(tc_.steps() - done);
    char line[256];
    std::snprintf(line, sizeof line,
                  "step %lld/%lld  loss %.5f  %.1f samples/s  elapsed %s  ETA %s  (lr %.3g, "
                  "grad_norm %.3g%s)",
                  static_cast<long long>(done), static_cast<long long>(tc_.steps()), terms.total,
                  rec["samples_per_s"].get<double>(), Duration(elapsed).c_str(),
                  Duration(eta).c_str(), result.optim.lr, result.optim.grad_norm,
                  bad_total_ > 0 ? (", " + std::to_string(bad_total_) + " skipped").c_str() : "");
    LOG(INFO) << line;
  }
}

// A checkpoint after `done` steps when train.checkpoint_every says so, and after the last step.
Status TrainRun::MaybeCheckpoint(int64_t done) {
  if (done != tc_.steps() && !(tc_.checkpoint_every() > 0 && done % tc_.checkpoint_every() == 0))
    return Status::Ok();
  return Checkpoint(done);
}

Status TrainRun::Checkpoint(int64_t done) {
  if (writer_) {
    model_->CopyParamsToHost(host_->params.f32());
    CopyToHost(ctx_, host_->m, optimizer_->m());
    CopyToHost(ctx_, host_->v, optimizer_->v());
  }
  const CheckpointState state{.step = done,
                              .cursor = cursor_,
                              .world_size = world_,
                              .params = host_->params.f32(),
                              .m = host_->m.f32(),
                              .v = host_->v.f32()};
  return SaveCheckpointOnRank0(agree_, options_.out_dir + "/checkpoints", cfg_, model_->table(),
                               state, options_.mid_checkpoint_write);
}

// The summary at the median step time, the trace closed and final.safetensors written.
StatusOr<TrainSummary> TrainRun::Finish() {
  TrainSummary summary = summary_;
  summary.steps = tc_.steps() - start_step_;
  summary.start_step = start_step_;
  if (!step_times_.empty()) {
    summary.median_step_s = profile::Median(step_times_);
    summary.samples_per_s = static_cast<double>(global_batch_) / summary.median_step_s;
    summary.model_tflops = flops_ / summary.median_step_s / 1e12;
    summary.mfu = summary.model_tflops / (options_.peak_tflops * world_);
  }
  summary.peak_mem_bytes = memory_->peak_bytes();
  summary.skipped_samples = bad_total_;
  summary.end_step = tc_.steps();
  const Status trace_closed = trace_.Close();
  Status saved = Status::Ok();
  if (writer_) {
    model_->CopyParamsToHost(host_->params.f32());
    saved = SaveWeights(options_.out_dir + "/final.safetensors", model_->table(),
                        host_->params.f32(), {{"step", std::to_string(tc_.steps())}});
  }
  comm_->set_timeout_override_s(std::max(comm_->timeout_s(), kSaveTimeoutS));
  const Status agreed = Agreed(saved, "saving failed on rank 0");
  comm_->set_timeout_override_s(0);
  TIGERFG_RETURN_IF_ERROR(agreed);
  if (!trace_closed.ok()) return trace_closed;
  return summary;
}

TrainSummary TrainRun::Stopped(int64_t done) {
  TrainSummary summary = summary_;
  summary.steps = done - start_step_;
  summary.start_step = start_step_;
  summary.end_step = done;
  summary.stopped = true;
  summary.skipped_samples = bad_total_;
  if (!step_times_.empty()) {
    summary.median_step_s = profile::Median(step_times_);
    summary.samples_per_s = static_cast<double>(global_batch_) / summary.median_step_s;
  }
  summary.peak_mem_bytes = memory_->peak_bytes();
  (void)trace_.Close();  // a stop is not the place to fail on the trace
  return summary;
}

}  // namespace

StatusOr<TrainSummary> Train(const config::RunConfig& cfg, const TrainOptions& options,
                             comm::Communicator* comm, const Context& ctx) {
  CHECK(comm != nullptr) << "Train needs a communicator (the local one for a single process)";
  TrainRun run(cfg, options, comm, ctx);
  TIGERFG_RETURN_IF_ERROR(run.SetUp());
  TIGERFG_RETURN_IF_ERROR(run.Resume());
  TIGERFG_RETURN_IF_ERROR(run.StartData());
  for (int64_t step = run.start_step(); step < cfg.train().steps(); ++step) {
    TIGERFG_RETURN_IF_ERROR(run.Step(step));
    TIGERFG_RETURN_IF_ERROR(run.EndOfStep(step));
    if (run.stop_agreed() && step + 1 < cfg.train().steps()) {
      // Preempted (SIGTERM/SIGUSR1 on some rank): every rank agreed at this step boundary.
      LOG(WARNING) << "stop requested: checkpointing after step " << step + 1 << " and exiting";
      TIGERFG_RETURN_IF_ERROR(run.Checkpoint(step + 1));
      return run.Stopped(step + 1);
    }
    TIGERFG_RETURN_IF_ERROR(run.MaybeCheckpoint(step + 1));
  }
  return run.Finish();
}

}  // namespace tigerfg::train
