// runtime/train/step_runner.cc — the training step on one rank of any world size (DESIGN.md §3):
// local forward, all-gather of the embeddings, this rank's loss rows against the global batch,
// reduce-scatter of the embedding gradients, backward with bucketed gradient all-reduce, AdamW.
#include "runtime/train/step_runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "comm/gather_with_grad.h"
#include "ops/losses.h"
#include "ops/tensor_ops.h"

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

// Rows [begin, begin + dst.dim(0)) of the host tensor src into dst.
void CopyRows(const Buffer& dst, const Buffer& src, int64_t begin) {
  const size_t row_bytes = src.nbytes() / static_cast<size_t>(src.shape()[0]);
  std::memcpy(dst.data(), static_cast<const char*>(src.data()) + begin * row_bytes, dst.nbytes());
}

// Shape [rows] + t's shape without its first dimension.
Shape WithRows(const Buffer& t, int64_t rows) {
  std::vector<int64_t> dims = t.shape().dims();
  dims[0] = rows;
  return Shape(dims);
}

}  // namespace

Status CheckMicroBatch(int64_t micro_batch, int64_t local_batch, int world_size) {
  if (micro_batch < 0 || (micro_batch > 0 && local_batch % micro_batch != 0)) {
    return Status::Error("train.micro_batch: " + std::to_string(micro_batch) +
                         " does not divide the local batch " + std::to_string(local_batch) +
                         " (train.global_batch / " + std::to_string(world_size) +
                         " rank(s)); use 0 (unchunked) or a divisor of it");
  }
  return Status::Ok();
}

// Buffers of the gathered global batch on the model's device, allocated once. Without a
// communicator only the local gradients of the embeddings and the staged product ids exist.
// Chunked steps also keep this rank's embeddings and teacher outputs [b, ...] and a host chunk.
struct StepRunner::Buffers {
  Buffer q, e, teacher_items, product_ids, local_ids, dq, de, dq_local, de_local;
  Buffer q_local, e_local, teacher_q_local, teacher_items_local;  // chunked only
  Buffer packed;             // [kPackedSlots] the packed step status (step_runner.h)
  Buffer host_packed;        // the same on the host (pinned), copied as the step closes
  Buffer host_counts;        // [3] the step's counts (pinned), uploaded as it begins
  Tensor teacher_items_all;  // gathered teacher items for this step (empty without teacher)
  Batch chunk;               // chunked only: one chunk's rows of the batch, on the host

  // A device buffer's member, dtype and shape: what the constructor allocates and BufferBytes
  // counts.
  struct Slot {
    Buffer Buffers::*member;
    DType dtype;
    Shape shape;
  };
  static std::vector<Slot> Layout(int64_t global, int64_t local, int64_t embed, int64_t teacher_dim,
                                  bool gathered, bool chunked) {
    const int64_t et = std::max<int64_t>(teacher_dim, 1);
    std::vector<Slot> layout = {{&Buffers::local_ids, DType::kI64, Shape{local}},
                                {&Buffers::dq, DType::kF32, Shape{global, embed}},
                                {&Buffers::de, DType::kF32, Shape{global, embed}},
                                {&Buffers::packed, DType::kF32, Shape{kPackedSlots}}};
    if (gathered) {
      layout.push_back({&Buffers::q, DType::kF32, Shape{global, embed}});
      layout.push_back({&Buffers::e, DType::kF32, Shape{global, embed}});
      layout.push_back({&Buffers::teacher_items, DType::kF32, Shape{global, et}});
      layout.push_back({&Buffers::product_ids, DType::kI64, Shape{global}});
      layout.push_back({&Buffers::dq_local, DType::kF32, Shape{local, embed}});
      layout.push_back({&Buffers::de_local, DType::kF32, Shape{local, embed}});
    }
    if (chunked) {
      layout.push_back({&Buffers::q_local, DType::kF32, Shape{local, embed}});
      layout.push_back({&Buffers::e_local, DType::kF32, Shape{local, embed}});
      layout.push_back({&Buffers::teacher_q_local, DType::kF32, Shape{local, et}});
      layout.push_back({&Buffers::teacher_items_local, DType::kF32, Shape{local, et}});
    }
    return layout;
  }

  Buffers(const Context& ctx, int64_t global, int64_t local, int64_t embed, int64_t teacher_dim,
          bool gathered, bool chunked)
      : host_packed(Buffer::Pinned(ctx, DType::kF32, Shape{kPackedSlots})),
        host_counts(Buffer::Pinned(ctx, DType::kF32, Shape{kPackedSeen - kPackedStop + 1})) {
    for (const Slot& slot : Layout(global, local, embed, teacher_dim, gathered, chunked))
      this->*slot.member = Buffer(ctx, slot.dtype, slot.shape);
  }
};

int64_t StepRunner::BufferBytes(int64_t local_batch, int world_size, int64_t embed_dim,
                                int64_t teacher_dim, bool gathered, bool chunked) {
  const int64_t global = gathered ? local_batch * world_size : local_batch;
  int64_t bytes = 0;
  for (const Buffers::Slot& slot :
       Buffers::Layout(global, local_batch, embed_dim, teacher_dim, gathered, chunked))
    bytes += slot.shape.numel() * static_cast<int64_t>(DTypeSize(slot.dtype));
  return bytes;
}

StepRunner::StepRunner(model::TigerFGModel& model, comm::Communicator* comm, AdamW* optimizer,
                       double bucket_mb)
    : model_(model), comm_(comm), optimizer_(optimizer), timer_(model.context()) {
  const Context& ctx = model.context();
  const int64_t local = model.local_batch();
  const int64_t global = comm ? local * comm->world_size() : local;
  const bool chunked = model.micro_batch() != local;
  g_ = std::make_unique<Buffers>(ctx, global, local, model.embed_dim(), model.teacher_dim(),
                                 comm != nullptr, chunked);
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
  Launch(batch, step, product_ids);
  return Collect();
}

void StepRunner::Launch(const Batch& batch, int64_t step, const Tensor& product_ids,
                        const StepCounts& counts) {
  CHECK(!pending_) << "StepRunner::Launch before the last step was collected";
  if (!timer_.in_step()) {
    if (comm_) comm_->set_step(step);
    timer_.BeginStep(step, Phase::kForward);
  }
  PackCounts(counts);
  if (model_.micro_batch() != model_.local_batch()) {
    RunChunked(batch, product_ids);
  } else {
    Forward(batch);
    if (comm_) {
      GatherAndLoss(ModelEmbeddings(), batch, product_ids);
    } else {
      LossWithoutComm(ModelEmbeddings(), StageProductIds(batch, product_ids));
    }
    Backward(comm_ ? g_->dq_local.tensor() : g_->dq.tensor(),
             comm_ ? g_->de_local.tensor() : g_->de.tensor());
  }
  if (comm_) ReducePackedStatus();
  pending_lr_ = 0;
  if (optimizer_) {
    // A failed step (a loss not finite on some rank) or gradients not finite: the update is
    // skipped on the device, before it could spread them into the parameters.
    timer_.Enter(Phase::kOptimizer);
    const Context& ctx = model_.context();
    Tensor packed = g_->packed.tensor();
    // In BF16 the update writes the bf16 mirror of what it changes: no cast pass before the next
    // forward.
    model_.UpdateParams([&](float* params, float* grads, const Tensor& params16) {
      pending_lr_ =
          optimizer_->Launch(ctx, params, grads, step, params16, packed.f32() + kPackedFailed);
    });
    ops::Copy(
        ctx, Tensor::F32(packed.f32() + kPackedGradSumsq, Shape{2}, ctx.device()),
        Tensor::F32(static_cast<float*>(optimizer_->grad_sumsq().data()), Shape{2}, ctx.device()));
  }
  // The packed status comes back behind the step's work; Collect reads it after the step's last
  // mark has passed.
  CopyToHostAsync(model_.context(), g_->host_packed.tensor(), g_->packed.tensor());
  timer_.CloseStep();
  pending_ = true;
  pending_step_ = step;
  pending_counts_ = counts;
}

// One host wait: the step's last mark, behind the packed status's copy. Without a communicator
// the global terms are the local ones, in double.
StatusOr<StepResult> StepRunner::Collect() {
  CHECK(pending_) << "StepRunner::Collect without a launched step";
  pending_ = false;
  const profile::StepProfile& profile = timer_.Resolve();
  const float* v = g_->host_packed.f32();
  StepResult result;
  result.local = model_.LossTermsFromHost(v + kPackedLocalTerms);
  result.global = result.local;
  result.counts = pending_counts_;
  result.failed_ranks = v[kPackedFailed] != 0 ? 1 : 0;
  result.profile = &profile;
  if (comm_) {
    result.global.total = v[kPackedTotal];
    result.global.contrastive = v[kPackedContrastive];
    result.global.srd = v[kPackedSrd];
    result.global.sdd = v[kPackedSdd];
    // A mean of per-rank integers, times the world size, is their sum (well within fp32's range).
    const double world = comm_->world_size();
    const auto sum = [&](PackedSlot slot) { return std::llround(v[slot] * world); };
    result.failed_ranks = sum(kPackedFailed);
    result.counts = {sum(kPackedStop), sum(kPackedBad), sum(kPackedSeen)};
  }
  if (optimizer_) {
    if (result.failed_ranks > 0 || !std::isfinite(result.global.total))
      return Status::Error("step " + std::to_string(pending_step_) + ": loss is not finite (" +
                           std::to_string(result.global.total) + "); lower optim.lr?");
    double sumsq = 0;
    std::memcpy(&sumsq, v + kPackedGradSumsq, sizeof(sumsq));
    result.optim = optimizer_->Info(pending_lr_, sumsq);
  }
  return result;
}

void StepRunner::Forward(const Batch& batch) {
  timer_.Enter(Phase::kForward);
  model_.ZeroGrads();
  model_.EncodeForward(batch);
}

// The local batch's product ids where the loss reads them: given, the host batch on the CPU,
// the ones that came with the inputs through the CUDA ring (unchunked: a chunked step's ring
// carries one chunk), or a device copy (a host wait).
Tensor StepRunner::StageProductIds(const Batch& batch, const Tensor& staged) {
  if (staged.defined()) return staged;
  const Context& ctx = model_.context();
  if (!ctx.is_cuda()) return batch.product_ids;
  const Tensor ringed = model_.staged_product_ids();
  if (ringed.defined() && model_.micro_batch() == model_.local_batch()) return ringed;
  CopyFromHost(ctx, g_->local_ids.tensor(), batch.product_ids);
  return g_->local_ids.tensor();
}

StepRunner::Embeddings StepRunner::ModelEmbeddings() const {
  return {model_.query_emb(), model_.item_emb(), Tensor(), model_.teacher_item()};
}

// Where the model writes this rank's loss terms: their slots of the packed status.
model::LossSlots StepRunner::LossSlots() const {
  static_assert(kPackedFailed - kPackedTotal + 1 == ops::kLossTermSlots);
  static_assert(kPackedSlots - kPackedLocalTerms == ops::kLossTerm64Slots);
  static_assert(kPackedLocalTerms % 2 == 0, "the doubles' slots are 8-byte aligned");
  const Tensor packed = g_->packed.tensor();
  return {packed.Slice(kPackedTotal, kPackedTotal + ops::kLossTermSlots),
          packed.Slice(kPackedLocalTerms, kPackedSlots)};
}

// One process: the local embeddings are the global batch.
void StepRunner::LossWithoutComm(const Embeddings& local, const Tensor& product_ids) {
  timer_.Enter(Phase::kLoss);
  model_.LossForwardBackward(local.q, local.e, local.teacher_items, product_ids, /*row0=*/0,
                             g_->dq.tensor(), g_->de.tensor(), LossSlots(), local.teacher_q);
}

void StepRunner::GatherAndLoss(const Embeddings& rank, const Batch& batch,
                               const Tensor& product_ids) {
  comm::Communicator& comm = *comm_;
  Buffers& g = *g_;
  timer_.Enter(Phase::kExposedComm);
  Collective(timer_, "all_gather query_emb",
             [&] { return comm::GatherWithGradForward(comm, g.q.tensor(), rank.q); });
  Collective(timer_, "all_gather item_emb",
             [&] { return comm::GatherWithGradForward(comm, g.e.tensor(), rank.e); });
  g.teacher_items_all = Tensor();
  if (model_.has_teacher()) {
    g.teacher_items_all = g.teacher_items.tensor();
    Collective(timer_, "all_gather teacher_item", [&] {
      return comm::GatherWithGradForward(comm, g.teacher_items_all, rank.teacher_items);
    });
  }
  const Tensor local_ids = StageProductIds(batch, product_ids);
  Collective(timer_, "all_gather product_ids",
             [&] { return comm::GatherIds(comm, g.product_ids.tensor(), local_ids); });
  timer_.Enter(Phase::kLoss);
  const int64_t row0 = comm.rank() * model_.local_batch();
  model_.LossForwardBackward(g.q.tensor(), g.e.tensor(), g.teacher_items_all,
                             g.product_ids.tensor(), row0, g.dq.tensor(), g.de.tensor(),
                             LossSlots(), rank.teacher_q);
  timer_.Enter(Phase::kExposedComm);
  Collective(timer_, "reduce_scatter d_query_emb", [&] {
    return comm::GatherWithGradBackward(comm, g.dq_local.tensor(), g.dq.tensor());
  });
  Collective(timer_, "reduce_scatter d_item_emb", [&] {
    return comm::GatherWithGradBackward(comm, g.de_local.tensor(), g.de.tensor());
  });
}

// Backward of the rows last encoded (the whole local batch, or chunk 0 of a chunked step); with a
// communicator each gradient bucket is all-reduced as soon as it is complete.
void StepRunner::Backward(const Tensor& dq, const Tensor& de) {
  timer_.Enter(Phase::kBackward);
  if (!comm_) {
    model_.EncodeBackward(dq, de);
    return;
  }
  comm::GradBucketer& buckets = *buckets_;
  auto bucket_span = [this](int b) {
    bucket_spans_[b] = timer_.BeginSpan("all_reduce grad_bucket " + std::to_string(b));
  };
  model_.EncodeBackward(dq, de, [&buckets, &bucket_span](const std::string& name) {
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

// The chunked (GradCache) step. Phase 1: each chunk is encoded and its embeddings and teacher
// outputs copied into the local [b, ...] buffers (its activations are overwritten by the next
// chunk); the losses and their embedding gradients are computed once on the global batch, as
// unchunked. Phase 2, from the last chunk back (whose activations are still in place: it is not
// encoded again): each chunk is encoded again, its SRD term computed, and its backward run with
// its rows of dq, de; gradients accumulate, and the buckets fire on the final backward only.
void StepRunner::RunChunked(const Batch& batch, const Tensor& product_ids) {
  const Context& ctx = model_.context();
  Buffers& g = *g_;
  const int64_t m = model_.micro_batch(), chunks = model_.local_batch() / m;
  CHECK_EQ(batch.size(), model_.local_batch()) << "the model was planned for another batch size";
  timer_.Enter(Phase::kForward);
  model_.ZeroGrads();
  const bool teacher = model_.has_teacher();
  for (int64_t k = 0; k < chunks; ++k) {
    model_.EncodeForward(Chunk(batch, k));
    ops::Copy(ctx, g.q_local.tensor().Slice(k * m, (k + 1) * m), model_.query_emb());
    ops::Copy(ctx, g.e_local.tensor().Slice(k * m, (k + 1) * m), model_.item_emb());
    if (!teacher) continue;
    ops::Copy(ctx, g.teacher_q_local.tensor().Slice(k * m, (k + 1) * m), model_.teacher_query());
    ops::Copy(ctx, g.teacher_items_local.tensor().Slice(k * m, (k + 1) * m), model_.teacher_item());
  }
  const Embeddings local = {g.q_local.tensor(), g.e_local.tensor(),
                            teacher ? g.teacher_q_local.tensor() : Tensor(),
                            teacher ? g.teacher_items_local.tensor() : Tensor()};
  if (comm_) {
    GatherAndLoss(local, batch, product_ids);
  } else {
    LossWithoutComm(local, StageProductIds(batch, product_ids));
  }
  const Tensor dq = comm_ ? g.dq_local.tensor() : g.dq.tensor();
  const Tensor de = comm_ ? g.de_local.tensor() : g.de.tensor();
  for (int64_t k = chunks - 1; k >= 0; --k) {
    if (k + 1 < chunks) {
      timer_.Enter(Phase::kForward);  // the recomputation: one extra forward per earlier chunk
      model_.EncodeForward(Chunk(batch, k));
    }
    model_.ChunkSrdForwardBackward(LossSlots());
    const Tensor dq_k = dq.Slice(k * m, (k + 1) * m), de_k = de.Slice(k * m, (k + 1) * m);
    if (k > 0) {
      timer_.Enter(Phase::kBackward);
      model_.EncodeBackward(dq_k, de_k);
    } else {
      Backward(dq_k, de_k);
    }
  }
}

// Chunk `index` of the local batch: its rows copied into the runner's host chunk.
const Batch& StepRunner::Chunk(const Batch& batch, int64_t index) {
  const int64_t m = model_.micro_batch();
  Batch& chunk = g_->chunk;
  auto rows = [&](Buffer& dst, const Buffer& src) {
    if (dst.data() == nullptr) dst = Buffer(src.dtype(), WithRows(src, m));
    CopyRows(dst, src, index * m);
  };
  rows(chunk.query_images, batch.query_images);
  rows(chunk.item_images, batch.item_images);
  rows(chunk.title_ids, batch.title_ids);
  rows(chunk.product_ids, batch.product_ids);
  if (batch.target_maps.data() != nullptr) rows(chunk.target_maps, batch.target_maps);
  chunk.first_sample = batch.first_sample + index * m;
  chunk.image_norm = batch.image_norm;
  return chunk;
}

// The caller's counts into the packed status, as the step begins (the loss slots are written on
// the device by the model): one upload in stream order, no host wait. The pinned source is
// rewritten only by the next Launch, after Collect has seen this step's work pass.
void StepRunner::PackCounts(const StepCounts& counts) {
  float* v = g_->host_counts.f32();
  v[kPackedStop - kPackedStop] = static_cast<float>(counts.stop);
  v[kPackedBad - kPackedStop] = static_cast<float>(counts.bad);
  v[kPackedSeen - kPackedStop] = static_cast<float>(counts.seen);
  CopyFromHostAsync(model_.context(), g_->packed.tensor().Slice(kPackedStop, kPackedSeen + 1),
                    g_->host_counts.tensor());
}

// The step's one small collective: the mean of the reduced slots over the ranks (the loss terms
// are the global loss's, the flags and counts sums / world). Its span keeps the name it had when
// it carried the loss terms only, which traces and their readers know.
void StepRunner::ReducePackedStatus() {
  timer_.Enter(Phase::kExposedComm);
  Collective(timer_, "all_reduce loss_terms", [&] {
    return comm_->AllReduce(g_->packed.tensor().Slice(0, kPackedReduced), comm::ReduceOp::kMean,
                            "loss_terms");
  });
}

}  // namespace tigerfg::train
