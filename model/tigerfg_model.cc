// model/tigerfg_model.cc — the TIGER-FG model on one rank: owns the flat parameters and gradients
// and the activation arena, runs the towers and the teacher, and orchestrates the loss terms.
#include "model/tigerfg_model.h"

#include <glog/logging.h>

#include <cstring>
#include <vector>

#include "model/input_staging.h"
#include "model/params.h"
#include "model/teacher.h"
#include "model/towers.h"
#include "ops/cast.h"
#include "ops/flash_attention.h"
#include "ops/losses.h"
#include "ops/tensor_ops.h"
#include "runtime/core/arena.h"
#include "runtime/core/buffer.h"

namespace tigerfg::model {

namespace {

// The leading `shape` elements of a planned buffer (G may be below its planned maximum).
Tensor Prefix(const Tensor& buffer, Shape shape) {
  CHECK_LE(shape.numel(), buffer.numel()) << "loss buffer too small for " << shape.ToString();
  return Tensor(buffer.data(), buffer.dtype(), shape, buffer.device());
}

// Copies src[n, ...] into stage[b, ...] and fills rows n..b-1 with row 0.
Tensor PadRows(const Tensor& src, Buffer* stage, int64_t b) {
  const int64_t n = src.dim(0);
  CHECK(n > 0 && n <= b) << "serving batch of " << n << " rows for a model planned for " << b;
  if (n == b) return src;
  std::vector<int64_t> dims = src.shape().dims();
  dims[0] = b;
  if (stage->numel() == 0 || stage->shape() != Shape(dims) || stage->dtype() != src.dtype())
    *stage = Buffer(src.dtype(), Shape(dims));
  const size_t row_bytes = src.nbytes() / static_cast<size_t>(n);
  auto* out = static_cast<char*>(stage->data());
  std::memcpy(out, src.data(), src.nbytes());
  for (int64_t r = n; r < b; ++r) std::memcpy(out + r * row_bytes, src.data(), row_bytes);
  return stage->tensor();
}

// The CUDA fused attention's head-dimension limit, checked for every tower; `remedy` ends the
// error (what else the user can do).
Status CheckCudaFlashHeads(const config::ModelConfig& cfg, const std::string& remedy) {
  struct Tower {
    const char* name;
    int64_t width, heads;
  };
  std::vector<Tower> towers = {{"model.query", cfg.query().width(), cfg.query().heads()},
                               {"model.item", cfg.item().width(), cfg.item().heads()},
                               {"model.text", cfg.text().width(), cfg.text().heads()}};
  if (cfg.has_teacher())
    towers.push_back({"model.teacher", cfg.teacher().width(), cfg.teacher().heads()});
  for (const Tower& t : towers) {
    const int64_t head_dim = t.heads > 0 ? t.width / t.heads : 0;
    if (head_dim > ops::kFlashMaxHeadDim) {
      return Status::Error(std::string(t.name) + ": head dimension " + std::to_string(head_dim) +
                           " (width / heads) is over " + std::to_string(ops::kFlashMaxHeadDim) +
                           ", the most the BF16 fused attention takes on CUDA; " + remedy);
    }
  }
  return Status::Ok();
}

// The image towers (unmasked: the ones cuDNN's SDPA runs) and their token counts.
struct ImageTower {
  const char* name;
  const config::ViTConfig* vit;
};
std::vector<ImageTower> ImageTowers(const config::ModelConfig& cfg) {
  std::vector<ImageTower> towers = {{"model.query", &cfg.query()}, {"model.item", &cfg.item()}};
  if (cfg.has_teacher()) towers.push_back({"model.teacher", &cfg.teacher()});
  return towers;
}

// train.attention: CUDNN: CUDA, BF16, the fused kernel's head limit (it runs the masked text
// tower and any fallback), and cuDNN plans for every image tower's shape.
StatusOr<AttentionKernel> ResolveCudnnAttention(const config::ModelConfig& cfg, bool bf16,
                                                const Context& ctx) {
  if (!ctx.is_cuda()) {
    return Status::Error(
        "train.attention: CUDNN (cuDNN's fused SDPA) runs on CUDA only: not implemented on the "
        "CPU (issue #10); use AUTO, FLASH or UNFUSED");
  }
  if (!bf16) {
    return Status::Error(
        "train.attention: CUDNN takes bf16 activations only (train.precision: BF16); FP32 on "
        "CUDA runs UNFUSED (or AUTO)");
  }
  Status heads = CheckCudaFlashHeads(cfg,
                                     "use more heads or train.attention: UNFUSED with "
                                     "train.precision: FP32");
  if (!heads.ok()) return Status::Error("train.attention: CUDNN: " + heads.message());
  for (const ImageTower& t : ImageTowers(cfg)) {
    const int64_t side = t.vit->patch_size() > 0 ? t.vit->image_size() / t.vit->patch_size() : 0;
    const Status s = ops::CudnnAttentionCheck(ctx, side * side + 1, t.vit->width(), t.vit->heads());
    if (!s.ok()) {
      return Status::Error(std::string("train.attention: CUDNN: ") + t.name + ": " + s.message() +
                           "; use AUTO or FLASH");
    }
  }
  return AttentionKernel::kCudnn;
}

}  // namespace

StatusOr<config::Precision> ResolvePrecision(const config::ModelConfig& cfg,
                                             config::Precision requested, const Context& ctx) {
  if (requested == config::PRECISION_DEFAULT || requested == config::FP32) return config::FP32;
  if (requested != config::BF16)
    return Status::Error("train.precision: unknown value " + std::to_string(requested));
  if (ctx.is_cuda()) {
    Status heads = CheckCudaFlashHeads(cfg, "use more heads or train.precision: FP32");
    if (!heads.ok()) return heads;
  }
  if (!ctx.is_cuda()) {
    LOG_FIRST_N(WARNING, 1) << "train.precision: BF16 on the CPU stages every bf16 tensor through "
                               "fp32: a check of the GPU path, slower than FP32";
  }
  return config::BF16;
}

StatusOr<AttentionKernel> ResolveAttention(const config::ModelConfig& cfg,
                                           config::TrainConfig::Attention requested,
                                           config::Precision precision, const Context& ctx) {
  CHECK(precision == config::FP32 || precision == config::BF16)
      << "ResolveAttention: resolve the precision first (ResolvePrecision)";
  const bool bf16 = precision == config::BF16;
  switch (requested) {
    case config::TrainConfig::AUTO:
      return bf16 ? AttentionKernel::kFlash : AttentionKernel::kUnfused;
    case config::TrainConfig::CUDNN:
      return ResolveCudnnAttention(cfg, bf16, ctx);
    case config::TrainConfig::FLASH:
      if (ctx.is_cuda() && !bf16) {
        return Status::Error(
            "train.attention: FLASH on CUDA takes bf16 activations only (train.precision: BF16); "
            "FP32 on CUDA runs UNFUSED (or AUTO)");
      }
      if (ctx.is_cuda()) {
        Status heads = CheckCudaFlashHeads(cfg,
                                           "use more heads or train.attention: UNFUSED with "
                                           "train.precision: FP32");
        if (!heads.ok()) return Status::Error("train.attention: FLASH: " + heads.message());
      }
      return AttentionKernel::kFlash;
    case config::TrainConfig::UNFUSED:
      if (bf16) {
        return Status::Error(
            "train.attention: UNFUSED takes fp32 activations only (it keeps fp32 probabilities); "
            "train.precision: BF16 runs FLASH (or AUTO)");
      }
      return AttentionKernel::kUnfused;
  }
  return Status::Error("train.attention: unknown value " + std::to_string(requested));
}

struct TigerFGModel::Impl {
  Impl(const config::ModelConfig& c, int64_t batch, Context context, int world_size,
       config::Precision p, AttentionKernel a, int64_t micro_batch)
      : cfg(c),
        precision(p),
        attention(a),
        local_batch(batch),
        chunk(micro_batch > 0 ? micro_batch : batch),
        max_global(batch * world_size),
        ctx(std::move(context)),
        table(BuildParamTable(c)),
        arena(ctx) {}

  // SRD's target: the teacher's map, or with srd_target MASK the batch's product-box maps
  // (Batch.target_maps; no teacher needed). SDD needs the teacher in both modes.
  bool mask_srd() const { return cfg.srd_target() == config::ModelConfig::MASK; }
  bool has_srd() const {
    return (mask_srd() || cfg.has_teacher()) && cfg.ground_layers() > 0 && cfg.w_srd() > 0;
  }
  bool has_sdd() const { return cfg.has_teacher() && cfg.w_sdd() > 0; }
  bool chunked() const { return chunk != local_batch; }

  // The SRD term of the rows last encoded (a mean over them) into loss_srd, and its map gradient,
  // scaled by `weight`, kept for the next EncodeBackward.
  void SrdForwardBackward(float weight) {
    if (mask_srd()) {
      ops::SrdTargetLossForward(ctx, loss_srd, teacher_map, item->ground_map());
    } else {
      ops::SrdLossForward(ctx, loss_srd, teacher_map, item->ground_map(), teacher->patches(),
                          teacher->query_cls(), cfg.tau_map());
    }
    ops::SrdLossBackward(ctx, damap, weight, teacher_map, item->ground_map());
    srd_pending = true;
  }

  // Plans the towers for `rows` samples per forward and the loss buffers for `b` local rows
  // against up to `g` gathered ones into `arena`.
  void PlanActivations(const ParamStore& store, ActivationArena* arena, int64_t rows, int64_t b,
                       int64_t g);

  // BF16 mode: params16 = bf16(params), all of it (the teacher's part too: parameters may be
  // written through params() by loaders and the rank-0 broadcast; ~6 bytes per parameter), unless
  // the mirror is current: nothing took params() for writing since the last refresh, and the
  // optimizer's update (UpdateParams) wrote the mirror of what it changed.
  void RefreshMirror() const {
    if (precision != config::BF16 || mirror_current) return;
    ops::Cast(ctx, params16.tensor(), params.tensor());
    mirror_current = true;
  }

  config::ModelConfig cfg;
  config::Precision precision;
  AttentionKernel attention;
  int64_t local_batch, chunk, max_global;  // chunk: rows of one EncodeForward
  Context ctx;
  ParamTable table;
  Buffer params, grads;                 // on ctx's device
  Buffer params16;                      // BF16 mode only
  mutable bool mirror_current = false;  // params16 == bf16(params) (RefreshMirror)
  ActivationArena arena;
  std::unique_ptr<QueryTower> query;
  std::unique_ptr<ItemTower> item;
  std::unique_ptr<Teacher> teacher;
  Tensor logit_scale, dlogit_scale;
  // Loss activations: [b, G] logits and their gradients, [1] scalars, [chunk, N] maps.
  Tensor row_logits, col_logits, drow_logits, dcol_logits, p_teacher, scale;
  // teacher_map: the teacher's SRD map, or with srd_target MASK the batch's target_maps staged
  // at EncodeForward.
  Tensor loss_row, loss_col, loss_sdd, loss_srd, teacher_map, damap;
  // The forward's inputs on ctx's device (made by the constructor: a plan's Impl has none).
  std::unique_ptr<InputStaging> inputs;
  // Serving inputs padded to chunk rows (allocated on first use).
  Buffer query_stage, item_stage;
  bool srd_pending = false;
  Tensor staged_product_ids;  // the last EncodeForward's, when its batch came through the ring
  bool tf32_before = false;   // the context's TF32 switch before this model set it
};

namespace {
// The precision's kernel when none is given; a given one must be one that ResolveAttention
// allows (a broken invariant otherwise: callers resolve train.attention first).
AttentionKernel CheckedAttention(const config::ModelConfig& cfg, config::Precision precision,
                                 const Context& ctx, std::optional<AttentionKernel> attention) {
  CHECK(precision == config::FP32 || precision == config::BF16)
      << "TigerFGModel: resolve the precision first (ResolvePrecision)";
  if (!attention) return *ResolveAttention(cfg, config::TrainConfig::AUTO, precision, ctx);
  const auto requested = *attention == AttentionKernel::kFlash   ? config::TrainConfig::FLASH
                         : *attention == AttentionKernel::kCudnn ? config::TrainConfig::CUDNN
                                                                 : config::TrainConfig::UNFUSED;
  const StatusOr<AttentionKernel> resolved = ResolveAttention(cfg, requested, precision, ctx);
  CHECK(resolved.ok()) << "TigerFGModel: resolve train.attention first (ResolveAttention): "
                       << resolved.status().message();
  return resolved.value();
}
}  // namespace

void TigerFGModel::Impl::PlanActivations(const ParamStore& store, ActivationArena* arena,
                                         int64_t rows, int64_t b, int64_t g) {
  query = std::make_unique<QueryTower>(store, cfg, rows, arena, attention);
  item = std::make_unique<ItemTower>(store, cfg, rows, arena, attention);
  if (cfg.has_teacher()) {
    teacher = std::make_unique<Teacher>(store, cfg.teacher(), rows, arena, attention);
  }
  for (Tensor* t : {&row_logits, &col_logits, &drow_logits, &dcol_logits}) {
    arena->Plan(t, Shape{b, g});
  }
  if (has_sdd()) arena->Plan(&p_teacher, Shape{b, g});
  for (Tensor* t : {&scale, &loss_row, &loss_col, &loss_sdd, &loss_srd}) arena->Plan(t, Shape{1});
  const int64_t grid = cfg.item().image_size() / cfg.item().patch_size();
  if (has_srd()) {
    arena->Plan(&teacher_map, Shape{rows, grid * grid});
    arena->Plan(&damap, Shape{rows, grid * grid});
  }
}

TigerFGModel::TigerFGModel(const config::ModelConfig& cfg, int64_t local_batch, Context ctx,
                           int world_size, config::Precision precision, bool recompute_blocks,
                           std::optional<AttentionKernel> attention, int64_t micro_batch)
    : impl_(std::make_unique<Impl>(cfg, local_batch, ctx, world_size, precision,
                                   CheckedAttention(cfg, precision, ctx, attention), micro_batch)) {
  Impl& m = *impl_;
  CHECK_GT(local_batch, 0);
  CHECK_GT(world_size, 0);
  CHECK(micro_batch >= 0 && local_batch % m.chunk == 0)
      << "train.micro_batch " << micro_batch << " does not divide the local batch " << local_batch;
  m.params = Buffer(m.ctx, DType::kF32, Shape{m.table.total_numel()});
  m.grads = Buffer(m.ctx, DType::kF32, Shape{m.table.trainable_numel()});
  uint16_t* mirror = nullptr;
  if (precision == config::BF16) {
    m.params16 = Buffer(m.ctx, DType::kBF16, Shape{m.table.total_numel()});
    mirror = static_cast<uint16_t*>(m.params16.data());
  }
  // The context's TF32 switch follows this model while it lives (restored by the destructor), so
  // that ops run on the same context afterwards get exact fp32 again.
  m.tf32_before = Tf32Allowed(m.ctx);
  AllowTf32(m.ctx, precision == config::BF16);
  m.arena.set_recompute_blocks(recompute_blocks);
  const ParamStore store(&m.table, params(), grads(), m.ctx.device(), mirror);
  // b: the rows of one forward (micro_batch; local_batch unchunked). The towers' memory and the
  // staging buffers grow with it, not with the local batch.
  const int64_t b = m.chunk;
  m.PlanActivations(store, &m.arena, b, local_batch, m.max_global);
  m.logit_scale = store.P("logit_scale").View(Shape{1});
  m.dlogit_scale = store.G("logit_scale").View(Shape{1});
  m.arena.Allocate();
  m.inputs = std::make_unique<InputStaging>(&m.ctx, cfg, b);
}

TigerFGModel::~TigerFGModel() { AllowTf32(impl_->ctx, impl_->tf32_before); }

const ParamTable& TigerFGModel::table() const { return impl_->table; }
const config::ModelConfig& TigerFGModel::config() const { return impl_->cfg; }
int64_t TigerFGModel::local_batch() const { return impl_->local_batch; }
int64_t TigerFGModel::micro_batch() const { return impl_->chunk; }
int64_t TigerFGModel::embed_dim() const { return impl_->cfg.embed_dim(); }
int64_t TigerFGModel::teacher_dim() const { return impl_->teacher ? impl_->teacher->width() : 0; }
bool TigerFGModel::has_teacher() const { return impl_->teacher != nullptr; }
config::Precision TigerFGModel::precision() const { return impl_->precision; }
AttentionKernel TigerFGModel::attention() const { return impl_->attention; }
const Context& TigerFGModel::context() const { return impl_->ctx; }
int64_t TigerFGModel::activation_bytes() const { return impl_->arena.bytes(); }

int64_t TigerFGModel::PlannedActivationBytes(int64_t local_batch, int world_size,
                                             int64_t micro_batch) const {
  const Impl& m = *impl_;
  CHECK(local_batch > 0 && world_size > 0 && micro_batch >= 0);
  // A second plan over this model's parameters, never allocated: only its size is read.
  Impl plan(m.cfg, local_batch, m.ctx, world_size, m.precision, m.attention, micro_batch);
  plan.arena.set_recompute_blocks(m.arena.recompute_blocks());
  const ParamStore store(&m.table, static_cast<float*>(m.params.data()),
                         static_cast<float*>(m.grads.data()), m.ctx.device(),
                         static_cast<uint16_t*>(m.params16.data()));
  plan.PlanActivations(store, &plan.arena, plan.chunk, local_batch, plan.max_global);
  return plan.arena.bytes();
}
float* TigerFGModel::params() {
  impl_->mirror_current = false;  // the caller may write them
  return static_cast<float*>(impl_->params.data());
}

void TigerFGModel::UpdateParams(
    const std::function<void(float* params, float* grads, const Tensor& params16)>& update) {
  Impl& m = *impl_;
  m.RefreshMirror();  // current before the update, so current after it
  update(static_cast<float*>(m.params.data()), static_cast<float*>(m.grads.data()),
         m.precision == config::BF16 ? m.params16.tensor() : Tensor());
}
float* TigerFGModel::grads() { return static_cast<float*>(impl_->grads.data()); }

void TigerFGModel::CopyParamsToHost(float* host) const {
  CopyToHost(impl_->ctx, Tensor::F32(host, impl_->params.tensor().shape()), impl_->params.tensor());
}
void TigerFGModel::CopyParamsFromHost(const float* host) {
  impl_->mirror_current = false;
  CopyFromHost(impl_->ctx, impl_->params.tensor(),
               Tensor::F32(const_cast<float*>(host), impl_->params.tensor().shape()));
}
void TigerFGModel::CopyGradsToHost(float* host) const {
  CopyToHost(impl_->ctx, Tensor::F32(host, impl_->grads.tensor().shape()), impl_->grads.tensor());
}

void TigerFGModel::ZeroGrads() {
  if (impl_->table.trainable_numel() > 0) ops::Zero(impl_->ctx, impl_->grads.tensor());
}

Tensor TigerFGModel::query_emb() const { return impl_->query->emb(); }
Tensor TigerFGModel::item_emb() const { return impl_->item->emb(); }
Tensor TigerFGModel::teacher_query() const {
  return impl_->teacher ? impl_->teacher->query_cls() : Tensor();
}
Tensor TigerFGModel::teacher_item() const {
  return impl_->teacher ? impl_->teacher->item_cls() : Tensor();
}
Tensor TigerFGModel::ground_map() const { return impl_->item->ground_map(); }
Tensor TigerFGModel::staged_product_ids() const { return impl_->staged_product_ids; }

void TigerFGModel::EncodeForward(const Batch& batch) {
  Impl& m = *impl_;
  const Status valid = ValidateBatch(m.cfg, batch);
  CHECK(valid.ok()) << valid.message();
  CHECK_EQ(batch.size(), m.chunk) << "the model was planned for another batch size";
  m.RefreshMirror();  // the optimizer has changed the fp32 masters
  const InputStaging::Inputs in = m.inputs->Stage(batch);
  m.query->Forward(m.ctx, in.query_images);
  m.item->Forward(m.ctx, in.item_images, in.title_ids, in.key_valid);
  if (m.teacher) m.teacher->Forward(m.ctx, in.query_images, in.item_images);
  if (m.has_srd() && m.mask_srd()) {
    if (in.target_maps.defined()) {
      ops::Copy(m.ctx, m.teacher_map, in.target_maps);
    } else {
      CopyFromHost(m.ctx, m.teacher_map, batch.target_maps);
    }
  }
  m.staged_product_ids = in.product_ids;
  m.srd_pending = false;
}

void TigerFGModel::StageInputs(const Batch& batch) {
  Impl& m = *impl_;
  if (!m.ctx.is_cuda() || batch.query_images.dtype() != DType::kU8) return;
  const Status valid = ValidateBatch(m.cfg, batch);
  CHECK(valid.ok()) << valid.message();
  CHECK_EQ(batch.size(), m.chunk) << "the model was planned for another batch size";
  m.inputs->StageAhead(batch);
}

void TigerFGModel::LossForwardBackward(const Tensor& q_all, const Tensor& e_all,
                                       const Tensor& teacher_items_all,
                                       const Tensor& product_ids_all, int64_t row0, Tensor dq_all,
                                       Tensor de_all, const LossSlots& out,
                                       const Tensor& teacher_queries) {
  Impl& m = *impl_;
  const config::ModelConfig& c = m.cfg;
  const int64_t b = m.local_batch, g = q_all.dim(0);
  CHECK(g <= m.max_global && row0 >= 0 && row0 + b <= g)
      << "gathered batch " << g << " rows from " << row0 << " (planned for " << m.max_global << ")";
  const Tensor row_logits = Prefix(m.row_logits, Shape{b, g});
  const Tensor col_logits = Prefix(m.col_logits, Shape{b, g});
  const Tensor drow = Prefix(m.drow_logits, Shape{b, g});
  const Tensor dcol = Prefix(m.dcol_logits, Shape{b, g});
  const float max_scale = c.max_logit_scale();

  ops::ScaledLogitsForward(m.ctx, row_logits, col_logits, m.scale, q_all, e_all, m.logit_scale,
                           max_scale, row0);
  ops::MultiPositiveNceForward(m.ctx, m.loss_row, row_logits, product_ids_all, row0);
  ops::MultiPositiveNceForward(m.ctx, m.loss_col, col_logits, product_ids_all, row0);
  const float dcontrastive = 0.5f * c.w_contrastive();
  ops::MultiPositiveNceBackward(m.ctx, drow, dcontrastive, row_logits, product_ids_all, row0);
  ops::MultiPositiveNceBackward(m.ctx, dcol, dcontrastive, col_logits, product_ids_all, row0);
  if (m.has_sdd()) {
    CHECK(teacher_items_all.defined() && teacher_items_all.dim(0) == g);
    CHECK(teacher_queries.defined() || !m.chunked()) << "chunked steps pass the teacher queries";
    const Tensor teacher_q = teacher_queries.defined() ? teacher_queries : m.teacher->query_cls();
    CHECK_EQ(teacher_q.dim(0), b);
    const Tensor p_teacher = Prefix(m.p_teacher, Shape{b, g});
    ops::SddLossForward(m.ctx, m.loss_sdd, p_teacher, row_logits, teacher_q, teacher_items_all,
                        c.tau_teacher());
    ops::SddLossBackward(m.ctx, drow, c.w_sdd(), p_teacher, row_logits);
  }
  ops::ScaledLogitsBackward(m.ctx, dq_all, de_all, m.dlogit_scale, drow, dcol, q_all, e_all,
                            m.logit_scale, m.scale, max_scale, row0);
  // Chunked steps add SRD chunk by chunk (ChunkSrdForwardBackward): it needs the activations.
  const bool srd_here = m.has_srd() && !m.chunked();
  if (srd_here) m.SrdForwardBackward(c.w_srd());
  // The terms combined on the device, in double as the host did (no read here: Collect reads).
  const ops::LossTermWeights w = {c.w_contrastive(), c.w_srd(), c.w_sdd()};
  ops::LossTermsUpdate(m.ctx, out.terms, out.terms64, m.loss_row, m.loss_col,
                       srd_here ? m.loss_srd : Tensor(), m.has_sdd() ? m.loss_sdd : Tensor(), w);
}

void TigerFGModel::ChunkSrdForwardBackward(const LossSlots& out) {
  Impl& m = *impl_;
  if (!m.has_srd()) return;
  // The local SRD term is the mean over b rows: each chunk's mean counts chunk / b of it.
  const double share = static_cast<double>(m.chunk) / static_cast<double>(m.local_batch);
  m.SrdForwardBackward(static_cast<float>(m.cfg.w_srd() * share));
  ops::LossTermWeights w;
  w.srd = m.cfg.w_srd();
  w.srd_share = share;
  ops::LossTermsUpdate(m.ctx, out.terms, out.terms64, Tensor(), Tensor(), m.loss_srd, Tensor(), w);
}

LossTerms TigerFGModel::LossTermsFromHost(const float* terms64) const {
  const Impl& m = *impl_;
  double d[4];
  std::memcpy(d, terms64, sizeof(d));
  LossTerms terms;
  terms.total = d[0];
  terms.contrastive = d[1];
  terms.srd = d[2];
  terms.sdd = d[3];
  terms.has_srd = m.has_srd();
  terms.has_sdd = m.has_sdd();
  return terms;
}

void TigerFGModel::EncodeBackward(const Tensor& dq, const Tensor& de,
                                  const std::function<void(const std::string&)>& on_param_ready) {
  Impl& m = *impl_;
  if (on_param_ready) on_param_ready("logit_scale");
  m.item->Backward(m.ctx, de, m.srd_pending ? m.damap : Tensor(), on_param_ready);
  m.query->Backward(m.ctx, dq, on_param_ready);
  m.srd_pending = false;
}

Tensor TigerFGModel::EncodeQueries(const Tensor& images) {
  Impl& m = *impl_;
  m.RefreshMirror();
  const config::ViTConfig& q = m.cfg.query();
  const int64_t n = images.dim(0);
  CHECK(images.dtype() == DType::kF32 &&
        images.shape() == Shape({n, q.channels(), q.image_size(), q.image_size()}))
      << "query images " << images.shape().ToString();
  const Tensor padded = PadRows(images, &m.query_stage, m.chunk);
  InputStaging& in = *m.inputs;
  m.query->Forward(m.ctx, in.OnDevice(in.dev_query_images, padded));
  return m.query->emb().Slice(0, n);
}

Tensor TigerFGModel::EncodeItems(const Tensor& images, const Tensor& title_ids) {
  Impl& m = *impl_;
  m.RefreshMirror();
  const config::ViTConfig& it = m.cfg.item();
  const int64_t n = images.dim(0), len = m.cfg.text().max_len();
  CHECK(images.dtype() == DType::kF32 &&
        images.shape() == Shape({n, it.channels(), it.image_size(), it.image_size()}))
      << "item images " << images.shape().ToString();
  CHECK(title_ids.dtype() == DType::kI64 && title_ids.shape() == Shape({n, len}))
      << "title ids " << title_ids.shape().ToString();
  const Tensor padded = PadRows(images, &m.item_stage, m.chunk);
  // The title staging buffer is the training one: chunk rows, the mask derived as in
  // EncodeForward.
  InputStaging& in = *m.inputs;
  const int64_t* ids = title_ids.i64();
  int64_t* staged = in.title_ids.i64();
  auto* valid_keys = static_cast<uint8_t*>(in.key_valid.data());
  for (int64_t i = 0; i < in.title_ids.numel(); ++i) {
    const int64_t id = ids[i < n * len ? i : i % len];
    CHECK(id >= 0 && id < m.cfg.text().vocab_size()) << "title id " << id;
    staged[i] = id;
    valid_keys[i] = id != 0 ? 1 : 0;
  }
  m.item->Forward(m.ctx, in.OnDevice(in.dev_item_images, padded),
                  in.OnDevice(in.dev_title_ids, in.title_ids),
                  in.OnDevice(in.dev_key_valid, in.key_valid));
  return m.item->emb().Slice(0, n);
}

}  // namespace tigerfg::model
