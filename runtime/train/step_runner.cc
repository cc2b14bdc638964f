// runtime/train/step_runner.cc — the training step on one rank of any world size (DESIGN.md §3):
// local forward, all-gather of the embeddings, this rank's loss rows against the global batch,
// reduce-scatter of the embedding gradients, backward with bucketed gradient all-reduce, AdamW.
#include "runtime/train/step_runner.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "comm/gather_with_grad.h"

namespace tigerfg::train {

namespace {

using profile::Phase;

// A collective on the compute stream's timeline: from its launch to the end of its wait.
template <typename Launch>
void Collective(profile::StepTimer& timer, const char* name, Launch&& launch) {
  const int span = timer.BeginSpan(name);
  launch()->Wait();
  timer.EndSpan(span);
}

}  // namespace

// Buffers of the gathered global batch on the model's device, allocated once. Without a
// communicator only the local gradients of the embeddings and the staged product ids exist.
struct StepRunner::Buffers {
  Buffer q, e, teacher_items, product_ids, local_ids, dq, de, dq_local, de_local;
  Buffer terms;              // total, contrastive, srd, sdd of this rank, then their mean
  Buffer host_terms;         // the same on the host
  Tensor teacher_items_all;  // gathered teacher items for this step (empty without teacher)

  Buffers(const Context& ctx, int64_t global, int64_t local, int64_t embed, int64_t teacher_dim,
          bool gathered)
      : local_ids(ctx, DType::kI64, Shape{local}),
        dq(ctx, DType::kF32, Shape{global, embed}),
        de(ctx, DType::kF32, Shape{global, embed}),
        host_terms(DType::kF32, Shape{4}) {
    if (!gathered) return;
    q = Buffer(ctx, DType::kF32, Shape{global, embed});
    e = Buffer(ctx, DType::kF32, Shape{global, embed});
    teacher_items = Buffer(ctx, DType::kF32, Shape{global, std::max<int64_t>(teacher_dim, 1)});
    product_ids = Buffer(ctx, DType::kI64, Shape{global});
    dq_local = Buffer(ctx, DType::kF32, Shape{local, embed});
    de_local = Buffer(ctx, DType::kF32, Shape{local, embed});
    terms = Buffer(ctx, DType::kF32, Shape{4});
  }
};

StepRunner::StepRunner(model::TigerFGModel& model, comm::Communicator* comm, AdamW* optimizer,
                       double bucket_mb)
    : model_(model), comm_(comm), optimizer_(optimizer), timer_(model.context()) {
  const Context& ctx = model.context();
  const int64_t local = model.local_batch();
  const int64_t global = comm ? local * comm->world_size() : local;
  g_ = std::make_unique<Buffers>(ctx, global, local, model.embed_dim(), model.teacher_dim(),
                                 comm != nullptr);
  if (comm == nullptr) return;
  const ParamTable& table = model.table();
  buckets_ = std::make_unique<comm::GradBucketer>(
      comm, table, Tensor::F32(model.grads(), Shape{table.trainable_numel()}, ctx.device()),
      bucket_mb);
  bucket_spans_.assign(buckets_->buckets().size(), -1);
}

StepRunner::~StepRunner() = default;

void StepRunner::BeginStep(int64_t step) {
  if (comm_) comm_->set_step(step);
  timer_.BeginStep(step, Phase::kDataWait);
}

StatusOr<StepResult> StepRunner::Run(const Batch& batch, int64_t step, const Tensor& product_ids) {
  if (!timer_.in_step()) {
    if (comm_) comm_->set_step(step);
    timer_.BeginStep(step, Phase::kForward);
  }
  Forward(batch);
  StepResult result;
  result.local = comm_ ? GatherAndLoss(batch, product_ids)
                       : LossWithoutComm(StageProductIds(batch, product_ids));
  Backward();
  result.global = comm_ ? ReduceLossTerms(result.local) : result.local;
  if (optimizer_) {
    // A diverged loss stops before the optimizer spreads it into the parameters.
    if (!std::isfinite(result.global.total))
      return Status::Error("step " + std::to_string(step) + ": loss is not finite (" +
                           std::to_string(result.global.total) + "); lower optim.lr?");
    timer_.Enter(Phase::kOptimizer);
    result.optim = optimizer_->Step(model_.context(), model_.params(), model_.grads(), step);
  }
  result.profile = &timer_.EndStep();
  return result;
}

void StepRunner::Forward(const Batch& batch) {
  timer_.Enter(Phase::kForward);
  model_.ZeroGrads();
  model_.EncodeForward(batch);
}

// The batch's product ids where the loss reads them: given, the host batch on the CPU, or a
// device copy.
Tensor StepRunner::StageProductIds(const Batch& batch, const Tensor& staged) {
  if (staged.defined()) return staged;
  const Context& ctx = model_.context();
  if (!ctx.is_cuda()) return batch.product_ids;
  CopyFromHost(ctx, g_->local_ids.tensor(), batch.product_ids);
  return g_->local_ids.tensor();
}

// One process: the local embeddings are the global batch.
model::LossTerms StepRunner::LossWithoutComm(const Tensor& product_ids) {
  timer_.Enter(Phase::kLoss);
  return model_.LossForwardBackward(model_.query_emb(), model_.item_emb(), model_.teacher_item(),
                                    product_ids, /*row0=*/0, g_->dq.tensor(), g_->de.tensor());
}

model::LossTerms StepRunner::GatherAndLoss(const Batch& batch, const Tensor& product_ids) {
  comm::Communicator& comm = *comm_;
  Buffers& g = *g_;
  timer_.Enter(Phase::kExposedComm);
  Collective(timer_, "all_gather query_emb",
             [&] { return comm::GatherWithGradForward(comm, g.q.tensor(), model_.query_emb()); });
  Collective(timer_, "all_gather item_emb",
             [&] { return comm::GatherWithGradForward(comm, g.e.tensor(), model_.item_emb()); });
  g.teacher_items_all = Tensor();
  if (model_.has_teacher()) {
    g.teacher_items_all = g.teacher_items.tensor();
    Collective(timer_, "all_gather teacher_item", [&] {
      return comm::GatherWithGradForward(comm, g.teacher_items_all, model_.teacher_item());
    });
  }
  const Tensor local_ids = product_ids.defined() ? product_ids : g.local_ids.tensor();
  if (!product_ids.defined()) CopyFromHost(model_.context(), local_ids, batch.product_ids);
  Collective(timer_, "all_gather product_ids",
             [&] { return comm::GatherIds(comm, g.product_ids.tensor(), local_ids); });
  timer_.Enter(Phase::kLoss);
  const int64_t row0 = comm.rank() * model_.local_batch();
  const model::LossTerms local =
      model_.LossForwardBackward(g.q.tensor(), g.e.tensor(), g.teacher_items_all,
                                 g.product_ids.tensor(), row0, g.dq.tensor(), g.de.tensor());
  timer_.Enter(Phase::kExposedComm);
  Collective(timer_, "reduce_scatter d_query_emb", [&] {
    return comm::GatherWithGradBackward(comm, g.dq_local.tensor(), g.dq.tensor());
  });
  Collective(timer_, "reduce_scatter d_item_emb", [&] {
    return comm::GatherWithGradBackward(comm, g.de_local.tensor(), g.de.tensor());
  });
  return local;
}

// Backward; with a communicator each gradient bucket is all-reduced as soon as it is complete.
void StepRunner::Backward() {
  timer_.Enter(Phase::kBackward);
  if (!comm_) {
    model_.EncodeBackward(g_->dq.tensor(), g_->de.tensor());
    return;
  }
  comm::GradBucketer& buckets = *buckets_;
  auto bucket_span = [this](int b) {
    bucket_spans_[b] = timer_.BeginSpan("all_reduce grad_bucket " + std::to_string(b));
  };
  model_.EncodeBackward(g_->dq_local.tensor(), g_->de_local.tensor(),
                        [&buckets, &bucket_span](const std::string& name) {
                          const int before = buckets.launched();
                          buckets.MarkReady(name);
                          for (int b = before; b < buckets.launched(); ++b) bucket_span(b);
                        });
  // What backward did not hide: the buckets' remaining wait (the loss terms' reduction follows).
  timer_.Enter(Phase::kExposedComm);
  const int num_buckets = static_cast<int>(bucket_spans_.size());
  for (int b = buckets.launched(); b < num_buckets; ++b) bucket_span(b);
  buckets.Finish();
  // In reverse, so that the spans (launched in order, all waited for here) nest in the trace.
  for (int b = num_buckets - 1; b >= 0; --b) timer_.EndSpan(std::exchange(bucket_spans_[b], -1));
}

// The loss of the global batch is the mean of the ranks' terms.
model::LossTerms StepRunner::ReduceLossTerms(const model::LossTerms& local) {
  const Context& ctx = model_.context();
  Buffer& terms = g_->host_terms;
  terms.f32()[0] = static_cast<float>(local.total);
  terms.f32()[1] = static_cast<float>(local.contrastive);
  terms.f32()[2] = static_cast<float>(local.srd);
  terms.f32()[3] = static_cast<float>(local.sdd);
  CopyFromHost(ctx, g_->terms.tensor(), terms);
  Collective(timer_, "all_reduce loss_terms", [&] {
    return comm_->AllReduce(g_->terms.tensor(), comm::ReduceOp::kMean, "loss_terms");
  });
  CopyToHost(ctx, terms, g_->terms.tensor());
  model::LossTerms global = local;
  global.total = terms.f32()[0];
  global.contrastive = terms.f32()[1];
  global.srd = terms.f32()[2];
  global.sdd = terms.f32()[3];
  return global;
}

}  // namespace tigerfg::train
