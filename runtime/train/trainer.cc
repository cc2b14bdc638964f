// runtime/train/trainer.cc — the training loop on one rank of any world size (DESIGN.md §3):
// local forward, all-gather of the embeddings, this rank's loss rows against the global batch,
// reduce-scatter of the embedding gradients, backward with bucketed gradient all-reduce, AdamW.
#include "runtime/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "comm/communicator.h"
#include "comm/gather_with_grad.h"
#include "comm/grad_buckets.h"
#include "runtime/core/buffer.h"
#include "model/tigerfg_model.h"
#include "runtime/core/peak_memory.h"
#include "runtime/core/step_timer.h"
#include "runtime/core/trace.h"
#include "runtime/data/batch_source.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/train/flops.h"
#include "runtime/train/metrics.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/rank_agreement.h"
#include "runtime/checkpoint/weights_io.h"

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

// Rank 0 writes; every rank waits for it and learns whether it worked.
Status SaveCheckpointOnRank0(RankAgreement& agree, const std::string& root,
                             const config::RunConfig& cfg, const ParamTable& table,
                             const CheckpointState& state, int64_t fault_save_step) {
  Status saved = Status::Ok();
  if (agree.rank() == 0) {
    CheckpointWriteOptions write;
    write.keep_last = cfg.train().keep_last();
    write.debug_exit_mid_write = state.step == fault_save_step;
    StatusOr<std::string> dir = SaveCheckpoint(root, cfg, table, state, write);
    if (dir.ok()) LOG(INFO) << "checkpoint " << *dir;
    saved = dir.ok() ? Status::Ok() : dir.status();
  }
  if (!agree.AllOk(saved.ok()))
    return saved.ok() ? Status::Error("saving the checkpoint failed on rank 0") : saved;
  return Status::Ok();
}

// Buffers of the gathered global batch on the model's device, allocated once.
struct GlobalBatch {
  Buffer q, e, teacher_items, product_ids, local_ids, dq, de, dq_local, de_local;
  Buffer terms;  // total, contrastive, srd, sdd of this rank, then their mean
  GlobalBatch(const Context& ctx, int64_t global, int64_t local, int64_t embed, int64_t teacher_dim)
      : q(ctx, DType::kF32, Shape{global, embed}),
        e(ctx, DType::kF32, Shape{global, embed}),
        teacher_items(ctx, DType::kF32, Shape{global, std::max<int64_t>(teacher_dim, 1)}),
        product_ids(ctx, DType::kI64, Shape{global}),
        local_ids(ctx, DType::kI64, Shape{local}),
        dq(ctx, DType::kF32, Shape{global, embed}),
        de(ctx, DType::kF32, Shape{global, embed}),
        dq_local(ctx, DType::kF32, Shape{local, embed}),
        de_local(ctx, DType::kF32, Shape{local, embed}),
        terms(ctx, DType::kF32, Shape{4}) {}
};

// Host copies of the optimizer state for checkpoints (the moments may live on the GPU).
struct HostState {
  Buffer params, m, v;
  HostState(const ParamTable& table)
      : params(DType::kF32, Shape{table.total_numel()}),
        m(DType::kF32, Shape{table.trainable_numel()}),
        v(DType::kF32, Shape{table.trainable_numel()}) {}
};

}  // namespace

StatusOr<TrainSummary> Train(const config::RunConfig& cfg, const TrainOptions& options,
                             comm::Communicator* comm, const Context& ctx) {
  CHECK(comm != nullptr) << "Train needs a communicator (the local one for a single process)";
  const config::TrainConfig& tc = cfg.train();
  const int rank = comm->rank(), world = comm->world_size();
  const int64_t global_batch = tc.global_batch();
  if (global_batch % world != 0)
    return Status::Error("train.global_batch: " + std::to_string(global_batch) +
                         " does not divide by the world size " + std::to_string(world));
  const int64_t local_batch = global_batch / world;
  if (!(options.peak_tflops > 0))
    return Status::Error("--peak_tflops must be > 0, got " + std::to_string(options.peak_tflops));
  const bool writer = rank == 0;
  if (writer) {
    std::error_code ec;
    std::filesystem::create_directories(options.out_dir, ec);
    if (ec) return Status::Error(options.out_dir + ": cannot create: " + ec.message());
  }

  StatusOr<config::Precision> precision = model::ResolvePrecision(cfg.model(), tc.precision(), ctx);
  if (!precision.ok()) return precision.status();
  StatusOr<model::AttentionKernel> attention =
      model::ResolveAttention(cfg.model(), tc.attention(), *precision, ctx);
  if (!attention.ok()) return attention.status();
  model::TigerFGModel model(cfg.model(), local_batch, ctx, world, *precision, tc.recompute_blocks(),
                            *attention);
  RankAgreement agree(*comm, ctx);
  profile::TraceWriter trace;
  if (!options.trace_path.empty()) {
    Status opened = trace.Open(profile::RankTracePath(options.trace_path, rank, world), rank);
    if (!agree.AllOk(opened.ok()))
      return opened.ok() ? Status::Error("opening the trace (--trace) failed on another rank")
                         : opened;
  }
  const ParamTable& table = model.table();
  // Parameters are initialised and loaded on the host, then copied to the model's device.
  HostState host(table);
  model::InitParams(table, cfg.model(), static_cast<uint64_t>(tc.seed()), host.params.f32());
  if (!options.init_weights.empty()) {
    Status loaded =
        LoadWeights(options.init_weights, table, host.params.f32(), /*require_all=*/true);
    if (!agree.AllOk(loaded.ok()))
      return loaded.ok() ? Status::Error("loading initial weights failed on another rank") : loaded;
  }
  if (!options.teacher_weights.empty()) {
    Status loaded = model.has_teacher()
                        ? LoadWeights(options.teacher_weights, table, host.params.f32(),
                                      /*require_all=*/true, {{"query.", "teacher."}})
                        : Status::Error("--teacher_weights: the config has no model.teacher");
    if (!agree.AllOk(loaded.ok()))
      return loaded.ok() ? Status::Error("loading teacher weights failed on another rank") : loaded;
  }
  AdamW optimizer(table, cfg.optim(), tc.steps(), ctx);
  int64_t start_step = 0, start_cursor = 0;
  if (!options.resume_from.empty()) {
    auto resumed = LoadForResume(options.resume_from, cfg, table, host.params.f32(), host.m.f32(),
                                 host.v.f32());
    if (!agree.AllOk(resumed.ok()))
      return resumed.ok() ? Status::Error("resuming failed on another rank") : resumed.status();
    CopyFromHost(ctx, optimizer.m(), host.m);
    CopyFromHost(ctx, optimizer.v(), host.v);
    start_step = resumed->step;
    start_cursor = resumed->cursor;
    LOG(INFO) << "resuming from " << resumed->dir << " at step " << start_step << " (written by "
              << resumed->world_size << " rank(s), now " << world << ")";
  }
  model.CopyParamsFromHost(host.params.f32());
  // Every rank starts from rank 0's parameters.
  comm->Broadcast(Tensor::F32(model.params(), Shape{table.total_numel()}, ctx.device()), 0,
                  "init_params")
      ->Wait();
  auto source = CreateBatchSource(cfg, rank, world, start_cursor);
  if (!agree.AllOk(source.ok()))
    return source.ok() ? Status::Error("the data source failed on another rank") : source.status();
  comm::GradBucketer buckets(
      comm, table, Tensor::F32(model.grads(), Shape{table.trainable_numel()}, ctx.device()),
      cfg.dist().bucket_mb());
  GlobalBatch g(ctx, global_batch, local_batch, model.embed_dim(), model.teacher_dim());
  Buffer host_terms(DType::kF32, Shape{4});
  const int64_t row0 = rank * local_batch;

  MetricsWriter metrics;
  const std::string metrics_path = options.out_dir + "/metrics.jsonl";
  if (writer && start_step > 0) TIGERFG_RETURN_IF_ERROR(TrimMetrics(metrics_path, start_step));
  if (writer) TIGERFG_RETURN_IF_ERROR(metrics.Open(metrics_path, /*append=*/start_step > 0));
  const double flops = StepFlops(cfg.model(), global_batch);

  profile::StepTimer timer(ctx);
  profile::PeakMemory memory(ctx);
  // A collective on the compute stream's timeline: from its launch to the end of its wait.
  auto collective = [&timer](const char* name, auto&& launch) {
    const int span = timer.BeginSpan(name);
    launch()->Wait();
    timer.EndSpan(span);
  };
  std::vector<int> bucket_spans(buckets.buckets().size(), -1);
  auto bucket_span = [&timer, &bucket_spans](int b) {
    bucket_spans[b] = timer.BeginSpan("all_reduce grad_bucket " + std::to_string(b));
  };

  TrainSummary summary;
  std::vector<double> step_times;
  for (int64_t step = start_step; step < tc.steps(); ++step) {
    comm->set_step(step);
    if (rank == options.fault_rank && step == options.fault_step) {
      LOG(ERROR) << "fault injection: rank " << rank << " exits at step " << step;
      std::_Exit(3);
    }
    timer.BeginStep(step, Phase::kDataWait);
    StatusOr<Batch*> batch = (*source)->Next();
    Status data_ok = batch.ok() ? model::ValidateBatch(cfg.model(), **batch) : batch.status();
    const int status_span = timer.BeginSpan("all_reduce status");
    const bool all_ok = agree.AllOk(data_ok.ok());
    timer.EndSpan(status_span);
    if (!all_ok)
      return data_ok.ok() ? Status::Error("step " + std::to_string(step) +
                                          ": the data failed on another rank")
                          : data_ok.WithContext("step " + std::to_string(step));

    timer.Enter(Phase::kForward);
    model.ZeroGrads();
    model.EncodeForward(**batch);
    timer.Enter(Phase::kExposedComm);
    collective("all_gather query_emb",
               [&] { return comm::GatherWithGradForward(*comm, g.q.tensor(), model.query_emb()); });
    collective("all_gather item_emb",
               [&] { return comm::GatherWithGradForward(*comm, g.e.tensor(), model.item_emb()); });
    Tensor teacher_items;
    if (model.has_teacher()) {
      teacher_items = g.teacher_items.tensor();
      collective("all_gather teacher_item", [&] {
        return comm::GatherWithGradForward(*comm, teacher_items, model.teacher_item());
      });
    }
    CopyFromHost(ctx, g.local_ids.tensor(), (**batch).product_ids);
    collective("all_gather product_ids", [&] {
      return comm::GatherIds(*comm, g.product_ids.tensor(), g.local_ids.tensor());
    });
    timer.Enter(Phase::kLoss);
    const model::LossTerms local =
        model.LossForwardBackward(g.q.tensor(), g.e.tensor(), teacher_items, g.product_ids.tensor(),
                                  row0, g.dq.tensor(), g.de.tensor());
    timer.Enter(Phase::kExposedComm);
    collective("reduce_scatter d_query_emb", [&] {
      return comm::GatherWithGradBackward(*comm, g.dq_local.tensor(), g.dq.tensor());
    });
    collective("reduce_scatter d_item_emb", [&] {
      return comm::GatherWithGradBackward(*comm, g.de_local.tensor(), g.de.tensor());
    });
    timer.Enter(Phase::kBackward);
    model.EncodeBackward(g.dq_local.tensor(), g.de_local.tensor(),
                         [&buckets, &bucket_span](const std::string& name) {
                           const int before = buckets.launched();
                           buckets.MarkReady(name);
                           for (int b = before; b < buckets.launched(); ++b) bucket_span(b);
                         });
    // What backward did not hide: the buckets' remaining wait, then the loss terms' reduction.
    timer.Enter(Phase::kExposedComm);
    for (int b = buckets.launched(); b < static_cast<int>(bucket_spans.size()); ++b) bucket_span(b);
    buckets.Finish();
    // In reverse, so that the spans (launched in order, all waited for here) nest in the trace.
    for (int b = static_cast<int>(bucket_spans.size()) - 1; b >= 0; --b)
      timer.EndSpan(std::exchange(bucket_spans[b], -1));

    // The loss of the global batch is the mean of the ranks' terms.
    Buffer& terms = host_terms;
    terms.f32()[0] = static_cast<float>(local.total);
    terms.f32()[1] = static_cast<float>(local.contrastive);
    terms.f32()[2] = static_cast<float>(local.srd);
    terms.f32()[3] = static_cast<float>(local.sdd);
    CopyFromHost(ctx, g.terms.tensor(), terms);
    collective("all_reduce loss_terms", [&] {
      return comm->AllReduce(g.terms.tensor(), comm::ReduceOp::kMean, "loss_terms");
    });
    CopyToHost(ctx, terms, g.terms.tensor());
    const double loss = terms.f32()[0];
    if (!std::isfinite(loss))
      return Status::Error("step " + std::to_string(step) + ": loss is not finite (" +
                           std::to_string(loss) + "); lower optim.lr?");
    timer.Enter(Phase::kOptimizer);
    const OptimStepInfo info = optimizer.Step(ctx, model.params(), model.grads(), step);
    const profile::StepProfile& prof = timer.EndStep();
    memory.Sample();
    trace.WriteStep(prof);

    const double step_s = prof.step_s;
    step_times.push_back(step_s);
    if (step == start_step) summary.first_loss = loss;
    summary.last_loss = loss;
    if (writer) {
      const auto phase_s = [&prof](Phase p) { return prof.phase_s[static_cast<int>(p)]; };
      const double tflops = flops / step_s / 1e12;
      nlohmann::ordered_json rec;
      rec["step"] = step;
      rec["loss"] = loss;
      rec["contrastive"] = terms.f32()[1];
      if (local.has_srd) rec["srd"] = terms.f32()[2];
      if (local.has_sdd) rec["sdd"] = terms.f32()[3];
      rec["lr"] = info.lr;
      rec["grad_norm"] = info.grad_norm;
      rec["samples_per_s"] = static_cast<double>(global_batch) / step_s;
      rec["model_gflops"] = tflops * 1e3;
      rec["model_tflops"] = tflops;
      rec["mfu"] = tflops / (options.peak_tflops * world);
      rec["peak_mem_bytes"] = memory.peak_bytes();
      rec["peak_mem_gib"] = memory.peak_gib();
      rec["step_s"] = step_s;
      rec["data_s"] = phase_s(Phase::kDataWait);
      rec["forward_s"] = phase_s(Phase::kForward);
      rec["loss_s"] = phase_s(Phase::kLoss);
      rec["backward_s"] = phase_s(Phase::kBackward);
      rec["exposed_comm_s"] = phase_s(Phase::kExposedComm);
      rec["optimizer_s"] = phase_s(Phase::kOptimizer);
      rec["world_size"] = world;
      rec["samples_seen"] = (*source)->cursor();
      metrics.Write(rec);
      if (tc.log_every() > 0 && (step % tc.log_every() == 0 || step + 1 == tc.steps()))
        LOG(INFO) << "step " << step << " loss " << loss << " lr " << info.lr << " grad_norm "
                  << info.grad_norm << " " << rec["samples_per_s"].get<double>() << " samples/s";
    }

    const int64_t done = step + 1;
    if (done == tc.steps() || (tc.checkpoint_every() > 0 && done % tc.checkpoint_every() == 0)) {
      if (writer) {
        model.CopyParamsToHost(host.params.f32());
        CopyToHost(ctx, host.m, optimizer.m());
        CopyToHost(ctx, host.v, optimizer.v());
      }
      const CheckpointState state{.step = done,
                                  .cursor = (*source)->cursor(),
                                  .world_size = world,
                                  .params = host.params.f32(),
                                  .m = host.m.f32(),
                                  .v = host.v.f32()};
      TIGERFG_RETURN_IF_ERROR(SaveCheckpointOnRank0(agree, options.out_dir + "/checkpoints", cfg,
                                                    table, state, options.fault_save_step));
    }
  }
  summary.steps = tc.steps() - start_step;
  summary.start_step = start_step;
  if (!step_times.empty()) {
    summary.median_step_s = profile::Median(step_times);
    summary.samples_per_s = static_cast<double>(global_batch) / summary.median_step_s;
    summary.model_tflops = flops / summary.median_step_s / 1e12;
    summary.mfu = summary.model_tflops / (options.peak_tflops * world);
  }
  summary.peak_mem_bytes = memory.peak_bytes();
  const Status trace_closed = trace.Close();
  Status saved = Status::Ok();
  if (writer) {
    model.CopyParamsToHost(host.params.f32());
    saved = SaveWeights(options.out_dir + "/final.safetensors", table, host.params.f32(),
                        {{"step", std::to_string(tc.steps())}});
  }
  if (!agree.AllOk(saved.ok()))
    return saved.ok() ? Status::Error("saving failed on rank 0") : saved;
  if (!trace_closed.ok()) return trace_closed;
  return summary;
}

}  // namespace tigerfg::train
