// model/tigerfg_model.cc — the TIGER-FG model on one rank: owns the flat parameters and gradients
// and the activation arena, runs the towers and the teacher, and orchestrates the loss terms.
#include "model/tigerfg_model.h"

#include <glog/logging.h>

#include "model/arena.h"
#include "model/params.h"
#include "model/teacher.h"
#include "model/towers.h"
#include "ops/losses.h"
#include "ops/tensor_ops.h"

namespace tigerfg::model {

namespace {

// The leading `shape` elements of a planned buffer (G may be below its planned maximum).
Tensor Prefix(const Tensor& buffer, Shape shape) {
  CHECK_LE(shape.numel(), buffer.numel()) << "loss buffer too small for " << shape.ToString();
  return Tensor(buffer.data(), buffer.dtype(), shape, buffer.device());
}

}  // namespace

struct TigerFGModel::Impl {
  Impl(const config::ModelConfig& c, int64_t batch, Context context, int world_size)
      : cfg(c),
        local_batch(batch),
        max_global(batch * world_size),
        ctx(std::move(context)),
        table(BuildParamTable(c)),
        arena(ctx) {}

  // Host-side reads of device scalars (loss values) happen here and nowhere else.
  double ReadScalar(const Tensor& t) const {
    CHECK(!ctx.is_cuda()) << "device scalar reads need the CUDA backend";
    return t.f32()[0];
  }
  bool has_srd() const { return cfg.has_teacher() && cfg.ground_layers() > 0 && cfg.w_srd() > 0; }
  bool has_sdd() const { return cfg.has_teacher() && cfg.w_sdd() > 0; }

  config::ModelConfig cfg;
  int64_t local_batch, max_global;
  Context ctx;
  ParamTable table;
  Buffer params, grads;
  ActivationArena arena;
  std::unique_ptr<QueryTower> query;
  std::unique_ptr<ItemTower> item;
  std::unique_ptr<Teacher> teacher;
  Tensor logit_scale, dlogit_scale;
  // Loss activations: [b, G] logits and their gradients, [1] scalars, [b, N] maps.
  Tensor row_logits, col_logits, drow_logits, dcol_logits, p_teacher, scale;
  Tensor loss_row, loss_col, loss_sdd, loss_srd, teacher_map, damap;
  Tensor step_dq, step_de;  // [b, E]: Step()'s gradients of the (un-gathered) embeddings
  // Staged inputs: the title ids and their key-padding mask [b, L].
  Buffer title_ids, key_valid;
  bool srd_pending = false;
};

TigerFGModel::TigerFGModel(const config::ModelConfig& cfg, int64_t local_batch, Context ctx,
                           int world_size)
    : impl_(std::make_unique<Impl>(cfg, local_batch, std::move(ctx), world_size)) {
  Impl& m = *impl_;
  CHECK_GT(local_batch, 0);
  CHECK_GT(world_size, 0);
  CHECK(!m.ctx.is_cuda()) << "TigerFGModel on CUDA needs device parameter buffers (not built)";
  m.params = Buffer(DType::kF32, Shape{m.table.total_numel()});
  m.grads = Buffer(DType::kF32, Shape{m.table.trainable_numel()});
  const ParamStore store(&m.table, m.params.f32(), m.grads.f32(), m.ctx.device());
  const int64_t b = local_batch, g = m.max_global, e = cfg.embed_dim();
  m.query = std::make_unique<QueryTower>(store, cfg, b, &m.arena);
  m.item = std::make_unique<ItemTower>(store, cfg, b, &m.arena);
  if (cfg.has_teacher()) m.teacher = std::make_unique<Teacher>(store, cfg.teacher(), b, &m.arena);
  m.logit_scale = store.P("logit_scale").View(Shape{1});
  m.dlogit_scale = store.G("logit_scale").View(Shape{1});
  for (Tensor* t : {&m.row_logits, &m.col_logits, &m.drow_logits, &m.dcol_logits}) {
    m.arena.Plan(t, Shape{b, g});
  }
  if (m.has_sdd()) m.arena.Plan(&m.p_teacher, Shape{b, g});
  for (Tensor* t : {&m.scale, &m.loss_row, &m.loss_col, &m.loss_sdd, &m.loss_srd}) {
    m.arena.Plan(t, Shape{1});
  }
  const int64_t grid = cfg.item().image_size() / cfg.item().patch_size();
  if (m.has_srd()) {
    m.arena.Plan(&m.teacher_map, Shape{b, grid * grid});
    m.arena.Plan(&m.damap, Shape{b, grid * grid});
  }
  m.arena.Plan(&m.step_dq, Shape{b, e});
  m.arena.Plan(&m.step_de, Shape{b, e});
  m.arena.Allocate();
  m.title_ids = Buffer(DType::kI64, Shape{b, cfg.text().max_len()});
  m.key_valid = Buffer(DType::kU8, Shape{b, cfg.text().max_len()});
}

TigerFGModel::~TigerFGModel() = default;

const ParamTable& TigerFGModel::table() const { return impl_->table; }
const config::ModelConfig& TigerFGModel::config() const { return impl_->cfg; }
int64_t TigerFGModel::local_batch() const { return impl_->local_batch; }
int64_t TigerFGModel::embed_dim() const { return impl_->cfg.embed_dim(); }
int64_t TigerFGModel::teacher_dim() const { return impl_->teacher ? impl_->teacher->width() : 0; }
bool TigerFGModel::has_teacher() const { return impl_->teacher != nullptr; }
float* TigerFGModel::params() { return impl_->params.f32(); }
float* TigerFGModel::grads() { return impl_->grads.f32(); }

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

void TigerFGModel::EncodeForward(const Batch& batch) {
  Impl& m = *impl_;
  const Status valid = ValidateBatch(m.cfg, batch);
  CHECK(valid.ok()) << valid.message();
  CHECK_EQ(batch.size(), m.local_batch) << "the model was planned for another batch size";
  // Stage the titles: the mask is derived on the host, where the batch lives.
  const int64_t* ids = batch.title_ids.i64();
  int64_t* staged = m.title_ids.i64();
  auto* valid_keys = static_cast<uint8_t*>(m.key_valid.data());
  for (int64_t i = 0; i < m.title_ids.numel(); ++i) {
    staged[i] = ids[i];
    valid_keys[i] = ids[i] != 0 ? 1 : 0;
  }
  m.query->Forward(m.ctx, batch.query_images);
  m.item->Forward(m.ctx, batch.item_images, m.title_ids, m.key_valid);
  if (m.teacher) m.teacher->Forward(m.ctx, batch.query_images, batch.item_images);
  m.srd_pending = false;
}

LossTerms TigerFGModel::LossForwardBackward(const Tensor& q_all, const Tensor& e_all,
                                            const Tensor& teacher_items_all,
                                            const Tensor& product_ids_all, int64_t row0,
                                            Tensor dq_all, Tensor de_all) {
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
  LossTerms terms;

  ops::ScaledLogitsForward(m.ctx, row_logits, col_logits, m.scale, q_all, e_all, m.logit_scale,
                           max_scale, row0);
  ops::MultiPositiveNceForward(m.ctx, m.loss_row, row_logits, product_ids_all, row0);
  ops::MultiPositiveNceForward(m.ctx, m.loss_col, col_logits, product_ids_all, row0);
  const float dcontrastive = 0.5f * c.w_contrastive();
  ops::MultiPositiveNceBackward(m.ctx, drow, dcontrastive, row_logits, product_ids_all, row0);
  ops::MultiPositiveNceBackward(m.ctx, dcol, dcontrastive, col_logits, product_ids_all, row0);
  if (m.has_sdd()) {
    CHECK(teacher_items_all.defined() && teacher_items_all.dim(0) == g);
    const Tensor p_teacher = Prefix(m.p_teacher, Shape{b, g});
    ops::SddLossForward(m.ctx, m.loss_sdd, p_teacher, row_logits, m.teacher->query_cls(),
                        teacher_items_all, c.tau_teacher());
    ops::SddLossBackward(m.ctx, drow, c.w_sdd(), p_teacher, row_logits);
  }
  ops::ScaledLogitsBackward(m.ctx, dq_all, de_all, m.dlogit_scale, drow, dcol, q_all, e_all,
                            m.logit_scale, m.scale, max_scale, row0);
  if (m.has_srd()) {
    ops::SrdLossForward(m.ctx, m.loss_srd, m.teacher_map, m.item->ground_map(),
                        m.teacher->patches(), m.teacher->query_cls(), c.tau_map());
    ops::SrdLossBackward(m.ctx, m.damap, c.w_srd(), m.teacher_map, m.item->ground_map());
    m.srd_pending = true;
  }

  terms.contrastive = 0.5 * (m.ReadScalar(m.loss_row) + m.ReadScalar(m.loss_col));
  terms.total = c.w_contrastive() * terms.contrastive;
  if (m.has_srd()) {
    terms.has_srd = true;
    terms.srd = m.ReadScalar(m.loss_srd);
    terms.total += c.w_srd() * terms.srd;
  }
  if (m.has_sdd()) {
    terms.has_sdd = true;
    terms.sdd = m.ReadScalar(m.loss_sdd);
    terms.total += c.w_sdd() * terms.sdd;
  }
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

LossTerms TigerFGModel::Step(const Batch& batch) {
  Impl& m = *impl_;
  ZeroGrads();
  EncodeForward(batch);
  const LossTerms terms = LossForwardBackward(query_emb(), item_emb(), teacher_item(),
                                              batch.product_ids, /*row0=*/0, m.step_dq, m.step_de);
  EncodeBackward(m.step_dq, m.step_de);
  return terms;
}

}  // namespace tigerfg::model
