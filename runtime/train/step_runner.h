// runtime/train/step_runner.h — the training step, written once for `train`, `bench`, `grads` and
// the tests: forward, all-gather, loss rows, reduce-scatter, backward with gradient buckets, the
// packed step status all-reduce, AdamW, each phase timed and each collective a trace span
// (DESIGN.md §3). A step is launched without reading its results on the host (Launch); they are
// read at the step boundary (Collect), so logging and the checks read them there.
// A model planned for a micro batch runs the chunked (GradCache) step: see RunChunked.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "comm/communicator.h"
#include "comm/grad_buckets.h"
#include "model/tigerfg_model.h"
#include "runtime/core/batch.h"
#include "runtime/core/buffer.h"
#include "runtime/core/status.h"
#include "runtime/core/step_timer.h"
#include "runtime/core/tensor.h"
#include "runtime/train/optimizer.h"

namespace tigerfg::train {

// The per-rank counts a caller adds to a step's packed status (the trainer: a stop request, the
// loader's bad and read samples since the last step); summed over the ranks.
struct StepCounts {
  int64_t stop = 0, bad = 0, seen = 0;
};

// The packed step status: one F32 [kPackedSlots] buffer on the device, filled during the step and
// all-reduced (mean) once, after backward: the loss terms (the mean is the global loss), whether
// the rank's loss was not finite (the mean · world = the failed ranks; the optimizer's update is
// gated on it on the device) and StepCounts (the mean · world = their sums); then, not reduced,
// the optimizer's Σ grads² (a double's bits in two slots; the same on every rank) and this rank's
// loss terms as doubles (model::LossSlots::terms64). The loss slots are written on the device by
// the model (ops::LossTermsUpdate), the counts uploaded as the step begins. One host read per
// step (Collect) takes all of it.
enum PackedSlot : int {
  kPackedTotal,  // kPackedTotal..kPackedFailed: model::LossSlots::terms
  kPackedContrastive,
  kPackedSrd,
  kPackedSdd,
  kPackedFailed,
  kPackedStop,
  kPackedBad,
  kPackedSeen,
  kPackedReduced,                            // the slots above are all-reduced
  kPackedGradSumsq = kPackedReduced,         // 2 slots
  kPackedLocalTerms = kPackedGradSumsq + 2,  // 8 slots: model::LossSlots::terms64
  kPackedSlots = kPackedLocalTerms + 8
};

struct StepResult {
  model::LossTerms local;    // this rank's terms, as LossForwardBackward wrote them
  model::LossTerms global;   // the mean over ranks (fp32 all-reduce); `local` without communicator
  OptimStepInfo optim;       // zeros without an optimizer
  StepCounts counts;         // summed over ranks; as given without a communicator
  int64_t failed_ranks = 0;  // ranks whose loss was not finite
  const profile::StepProfile* profile = nullptr;  // valid until the next step
};

// train.micro_batch against the local batch: 0 or a divisor of it. The error names the field.
Status CheckMicroBatch(int64_t micro_batch, int64_t local_batch, int world_size);

class StepRunner {
 public:
  // `model` (and `comm`, `optimizer` when given) must outlive the runner.
  // comm: the job's communicator (comm::LocalCommunicator for one process): the embeddings are
  //   gathered into the global batch, the gradients go through buckets of bucket_mb megabytes and
  //   every collective is a span of the step. nullptr: one process without collectives (the
  //   gather is the identity; no exposed communication, no spans).
  // optimizer: stepped at the end of each step when given.
  StepRunner(model::TigerFGModel& model, comm::Communicator* comm, AdamW* optimizer = nullptr,
             double bucket_mb = 25);
  ~StepRunner();

  // Starts the timing of `step` in the data-wait phase (the caller fetches its batch after this)
  // and tells the communicator the step. Optional: Launch begins the step itself when not called.
  // It may come between the previous step's Launch and Collect: the trainer fetches and stages
  // step k+1's batch while step k runs on the device, and step k+1's data wait is then the time
  // the device waited for it.
  void BeginStep(int64_t step);

  // The rest of the step on `batch` (exactly the model's local batch, on the host; a chunked
  // model's step takes it chunk by chunk, with the same losses and gradients). product_ids:
  // the batch's ids already on the model's device (bench stages them once); empty = staged here.
  // Launch, then Collect: the step's results read at once.
  StatusOr<StepResult> Run(const Batch& batch, int64_t step = 0, const Tensor& product_ids = {});

  // The step, up to the optimizer's update and the packed status's all-reduce, without reading
  // any of it back or waiting for it (the step's timing closes here). counts: added to the packed
  // status. The results are read by Collect, which must come before the next Launch.
  void Launch(const Batch& batch, int64_t step = 0, const Tensor& product_ids = {},
              const StepCounts& counts = {});
  // The launched step's results, from its packed status: waits for the step to finish (the one
  // host wait of a step whose inputs were staged ahead). With an optimizer, a global loss that
  // is not finite (on any rank) is an error naming the step; its update was skipped on the device
  // (the weights are those before the step), as it is for gradients that are not finite.
  StatusOr<StepResult> Collect();
  bool pending() const { return pending_; }

  profile::StepTimer& timer() { return timer_; }

  // The bytes of the buffers a runner allocates on the device for the gathered batch and the
  // embedding gradients (plus the chunked step's local embeddings), by the same rule as the
  // runner: a memory budget adds these to the model's parameters and activations.
  static int64_t BufferBytes(int64_t local_batch, int world_size, int64_t embed_dim,
                             int64_t teacher_dim, bool gathered, bool chunked);

 private:
  struct Buffers;
  // This rank's embeddings [b, E] and teacher outputs [b, Et] as the loss reads them.
  struct Embeddings {
    Tensor q, e, teacher_q, teacher_items;  // teacher_q empty: the model's last forward
  };
  Embeddings ModelEmbeddings() const;
  Tensor StageProductIds(const Batch& batch, const Tensor& staged);
  void Forward(const Batch& batch);
  model::LossSlots LossSlots() const;
  void LossWithoutComm(const Embeddings& local, const Tensor& product_ids);
  void GatherAndLoss(const Embeddings& rank, const Batch& batch, const Tensor& product_ids);
  void Backward(const Tensor& dq, const Tensor& de);
  void RunChunked(const Batch& batch, const Tensor& product_ids);
  const Batch& Chunk(const Batch& batch, int64_t index);
  void PackCounts(const StepCounts& counts);
  void ReducePackedStatus();

  model::TigerFGModel& model_;
  comm::Communicator* comm_;
  AdamW* optimizer_;
  profile::StepTimer timer_;
  std::unique_ptr<comm::GradBucketer> buckets_;
  std::vector<int> bucket_spans_;
  std::unique_ptr<Buffers> g_;
  // The launched step Collect reads: its number, counts and learning rate.
  bool pending_ = false;
  int64_t pending_step_ = 0;
  StepCounts pending_counts_;
  double pending_lr_ = 0;
};

}  // namespace tigerfg::train
