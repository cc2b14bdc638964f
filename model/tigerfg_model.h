// model/tigerfg_model.h — the TIGER-FG model on one rank: parameters in flat buffers, explicit
// forward and backward of both towers, the frozen teacher, and the loss terms.
//
// A training step, at any world size (DESIGN.md §3):
//   1. EncodeForward(batch)            local embeddings q, e [b, E], teacher tq, ti [b, Et]
//   2. (comm) all-gather               q_all, e_all, ti_all [G, ...], product_ids_all [G]
//   3. LossForwardBackward(...)        loss rows of the local samples; d q_all, d e_all [G, E]
//   4. (comm) reduce-scatter (sum)     d q, d e [b, E] of the local samples
//   5. EncodeBackward(dq, de)          parameter gradients (+=) of this rank's loss
//   6. (comm) all-reduce (mean)        gradients; then the optimizer
// runtime/train/step_runner.h runs the whole step (with one process, the gather is the identity).
//
// Chunked (GradCache) steps, micro_batch m < b: step 1 runs once per chunk of m samples (the
// caller keeps each chunk's embeddings), steps 2-4 run once on the whole global batch, then for
// each chunk, from the last one back (still encoded: it is not encoded again), EncodeForward,
// ChunkSrdForwardBackward and EncodeBackward run on its rows of dq, de.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "configs/tigerfg.pb.h"
#include "model/attention_kernel.h"
#include "runtime/core/batch.h"
#include "runtime/core/context.h"
#include "runtime/core/param_table.h"
#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg::model {

// Names and shapes exactly as the spec's state_dict (plus "teacher.*" for the frozen teacher,
// as the spec's `state()` writes them). Trainable first, teacher last. Decay: tensors named
// "*.weight" with two or more dimensions (Linear, conv and embedding weights).
ParamTable BuildParamTable(const config::ModelConfig& cfg);

// Fills parameters like the spec's initialisation in spirit (deterministic from seed):
// Linear/conv weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases likewise, LayerNorm 1/0,
// cls/pos N(0, 0.02), token embedding N(0, 1), logit_scale = init_logit_scale.
void InitParams(const ParamTable& table, const config::ModelConfig& cfg, uint64_t seed,
                float* params);

// The precision a run uses on ctx: PRECISION_DEFAULT resolves to FP32 (see README "Precision":
// the BF16 CUDA kernels become the GPU default once they have passed on a GPU). An error names
// what the BF16 mode cannot run: on CUDA the fused attention takes heads of at most 64 channels.
StatusOr<config::Precision> ResolvePrecision(const config::ModelConfig& cfg,
                                             config::Precision requested, const Context& ctx);

// The transformer blocks' attention kernel (train.attention) for a resolved precision on ctx:
// AUTO is the precision's kernel (FLASH in BF16, UNFUSED in FP32); FLASH and UNFUSED are taken
// where the kernels run them: FLASH in BF16, and in FP32 on the CPU; UNFUSED in FP32. CUDNN
// (cuDNN's fused SDPA) is not implemented yet (issue #10). Errors name train.attention and why.
StatusOr<AttentionKernel> ResolveAttention(const config::ModelConfig& cfg,
                                           config::TrainConfig::Attention requested,
                                           config::Precision precision, const Context& ctx);

struct LossTerms {
  double total = 0, contrastive = 0, srd = 0, sdd = 0;
  bool has_srd = false, has_sdd = false;
};

// Where a step's local loss terms are written on the model's device (ops::LossTermsUpdate), so
// that no host read waits inside the step: terms F32 [5] (fp32 total, contrastive, srd, sdd, not
// finite flag), terms64 F32 [8] (the four terms as doubles, 8-byte aligned). The step runner
// places both in its packed status; LossTermsFromHost reads terms64's host copy.
struct LossSlots {
  Tensor terms, terms64;
};

class TigerFGModel {
 public:
  // Plans every activation for `local_batch` samples once; no allocation inside a step. The loss
  // buffers hold up to world_size · local_batch gathered samples (G in LossForwardBackward).
  // precision FP32 or BF16 (resolved, see ResolvePrecision): BF16 keeps a bf16 mirror of the
  // parameters for the transformer blocks' GEMMs, refreshed from the fp32 masters at every
  // forward, and runs the blocks on bf16 activations (DESIGN.md §4); on CUDA the remaining fp32
  // GEMMs may use TF32.
  // recompute_blocks: see ActivationArena::set_recompute_blocks (train.recompute_blocks).
  // attention (see ResolveAttention): empty is the precision's kernel (train.attention: AUTO).
  // micro_batch (train.micro_batch): the samples of one EncodeForward, dividing local_batch; the
  // towers' activations are planned for micro_batch samples only. 0 = local_batch (unchunked).
  TigerFGModel(const config::ModelConfig& cfg, int64_t local_batch, Context ctx, int world_size = 1,
               config::Precision precision = config::FP32, bool recompute_blocks = false,
               std::optional<AttentionKernel> attention = std::nullopt, int64_t micro_batch = 0);
  ~TigerFGModel();

  const ParamTable& table() const;
  const config::ModelConfig& config() const;
  int64_t local_batch() const;
  int64_t micro_batch() const;  // samples of one EncodeForward: local_batch() when unchunked
  int64_t embed_dim() const;
  int64_t teacher_dim() const;  // 0 without a teacher
  bool has_teacher() const;
  config::Precision precision() const;  // FP32 or BF16
  AttentionKernel attention() const;    // the transformer blocks' kernel
  const Context& context() const;       // where the model's buffers live and its ops run
  int64_t activation_bytes() const;     // the activation arena's size on the device
  // The activation arena this model's config would plan at another local batch, world size and
  // micro batch (0 = unchunked), without allocating it.
  int64_t PlannedActivationBytes(int64_t local_batch, int world_size, int64_t micro_batch) const;

  // The flat buffers live on the context's device: on CUDA these are device pointers (pass them
  // to ops or collectives with the CUDA context, never dereference them on the host). The copy
  // helpers below work on both devices.
  float* params();  // [table().total_numel()]; taken for writing (the bf16 mirror is refreshed)
  float* grads();   // [table().trainable_numel()]
  void ZeroGrads();
  // The optimizer's update in place: update(params, grads, params16), params16 being the bf16
  // mirror [total_numel] in BF16 mode (empty otherwise), which the update must write for every
  // parameter it changes (AdamW::Launch's params16): the next forward then skips the cast of every
  // parameter into the mirror (issue #10 item 7).
  void UpdateParams(
      const std::function<void(float* params, float* grads, const Tensor& params16)>& update);
  // Synchronous host copies of the flat buffers (host arrays of the sizes above).
  void CopyParamsToHost(float* host) const;
  void CopyParamsFromHost(const float* host);
  void CopyGradsToHost(float* host) const;

  // Step 1. Runs both towers and the teacher on the local batch, or on one chunk of it when
  // chunked (exactly micro_batch() samples, titles padded to max_len). The batch lives on the host;
  // on CUDA it is copied into device staging buffers first. The batch must stay alive until
  // EncodeBackward returns. U8 images (the training loader's) are normalised here with
  // batch.image_norm (ops::NormalizeImages); on CUDA they, the titles and their mask travel
  // through a pinned ring on a copy stream (runtime/core/input_ring.h): no pageable copy, no host
  // wait.
  void EncodeForward(const Batch& batch);
  // CUDA, U8 images: starts the batch's host-to-device copy now, so that it overlaps the step
  // before the EncodeForward that uses the batch (found by its buffers and first_sample). A no-op
  // on the CPU or for F32 images.
  void StageInputs(const Batch& batch);
  // The outputs below are views on the model's device (ToHost in runtime/core/buffer.h copies).
  // b below is micro_batch(): the rows of the last EncodeForward.
  Tensor query_emb() const;      // [b, E], L2-normalised
  Tensor item_emb() const;       // [b, E]
  Tensor teacher_query() const;  // [b, Et] normalised teacher CLS of the query crop (teacher only)
  Tensor teacher_item() const;   // [b, Et] normalised teacher CLS of the item image
  Tensor ground_map() const;     // [b, N] head-mean map of the last grounding layer (layers > 0)
  // [b] I64: the product ids of the last EncodeForward's batch on the device, when they came
  // with its inputs through the CUDA ring (U8 images); empty otherwise (the caller copies them).
  Tensor staged_product_ids() const;

  // Step 3. q_all, e_all [G, E], teacher_items_all [G, Et] (empty without teacher),
  // product_ids_all [G] I64, all on the model's device (as are dq_all, de_all);
  // this rank's samples are global rows [row0, row0 + b).
  // Each term is the mean over the local rows (DESIGN.md §3); this rank's terms are written into
  // `out` on the device (read on the host later: LossTermsFromHost). Writes dq_all, de_all [G, E]
  // (=) and accumulates the logit_scale and SRD paths.
  // teacher_queries [local_batch, Et]: this rank's teacher queries; empty = teacher_query() of
  // the last EncodeForward (unchunked only). Chunked, the SRD term is left to
  // ChunkSrdForwardBackward.
  void LossForwardBackward(const Tensor& q_all, const Tensor& e_all,
                           const Tensor& teacher_items_all, const Tensor& product_ids_all,
                           int64_t row0, Tensor dq_all, Tensor de_all, const LossSlots& out,
                           const Tensor& teacher_queries = {});

  // Chunked steps, after re-encoding a chunk: its SRD term (grounding map vs teacher map) with
  // the weight micro_batch / local_batch of the local mean, added to out's srd and total on the
  // device; its map gradient goes into the next EncodeBackward. Does nothing without SRD.
  void ChunkSrdForwardBackward(const LossSlots& out);

  // The terms from a host copy of LossSlots::terms64 [8], with this model's has_srd / has_sdd.
  LossTerms LossTermsFromHost(const float* terms64) const;

  // Step 5. dq, de [b, E] (the rows of the last EncodeForward); gradients accumulate (+=) over
  // chunks. `on_param_ready(name)` (may be empty) is called as soon as the named
  // parameter's gradient is final, so gradient buckets can be sent while backward goes on.
  void EncodeBackward(const Tensor& dq, const Tensor& de,
                      const std::function<void(const std::string&)>& on_param_ready = {});

  // Serving: one tower alone, no teacher, for any n <= micro_batch() samples. Inputs are host
  // tensors; the result is a view of the tower's output on the model's device (ToHost in
  // runtime/core/buffer.h copies it), valid until the next forward. Rows past n are computed on
  // copies of row 0 and dropped: every sample's forward is independent of the others. images [n, C,
  // Hq, Wq] -> [n, E]
  Tensor EncodeQueries(const Tensor& images);
  // images [n, C, Hi, Wi], title_ids [n, L] I64 (0 = padding) -> [n, E]
  Tensor EncodeItems(const Tensor& images, const Tensor& title_ids);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks a batch against the model's shapes; the error names the tensor and what differs.
Status ValidateBatch(const config::ModelConfig& cfg, const Batch& batch);

}  // namespace tigerfg::model
