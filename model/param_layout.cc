// model/param_layout.cc — the parameter table in the spec's state_dict order and names, the
// flat-buffer views layers use, and the deterministic initialisation.
#include <cmath>
#include <string>

#include "model/params.h"
#include "model/tigerfg_model.h"
#include "runtime/core/rng.h"

namespace tigerfg::model {

namespace {

bool IsDecayed(const std::string& name, const Shape& shape) {
  const std::string suffix = ".weight";
  return shape.ndim() >= 2 && name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class TableBuilder {
 public:
  TableBuilder(ParamTable* table, bool trainable) : table_(table), trainable_(trainable) {}
  void Add(const std::string& name, Shape shape) {
    table_->Add(name, shape, trainable_, IsDecayed(name, shape));
  }
  void Linear(const std::string& p, int64_t in, int64_t out, bool bias = true) {
    Add(p + ".weight", Shape{out, in});
    if (bias) Add(p + ".bias", Shape{out});
  }
  void Norm(const std::string& p, int64_t dim) {
    Add(p + ".weight", Shape{dim});
    Add(p + ".bias", Shape{dim});
  }
  void Block(const std::string& p, int64_t dim, int64_t ratio) {
    Norm(p + "ln1", dim);
    Linear(p + "attn.qkv", dim, 3 * dim);
    Linear(p + "attn.proj", dim, dim);
    Norm(p + "ln2", dim);
    Linear(p + "mlp.fc1", dim, ratio * dim);
    Linear(p + "mlp.fc2", ratio * dim, dim);
  }
  void ViT(const std::string& p, const config::ViTConfig& c) {
    const int64_t grid = c.image_size() / c.patch_size();
    Add(p + "cls_token", Shape{1, 1, c.width()});
    Add(p + "pos_embed", Shape{1, grid * grid + 1, c.width()});
    Add(p + "patch_embed.weight", Shape{c.width(), c.channels(), c.patch_size(), c.patch_size()});
    Add(p + "patch_embed.bias", Shape{c.width()});
    for (int i = 0; i < c.depth(); ++i) {
      Block(p + "blocks." + std::to_string(i) + ".", c.width(), c.mlp_ratio());
    }
    Norm(p + "ln_final", c.width());
  }

 private:
  ParamTable* table_;
  bool trainable_;
};

}  // namespace

Tensor ParamStore::G(const std::string& name) const {
  const ParamSpec& spec = table_->Get(name);
  if (!spec.trainable || grads_ == nullptr) return Tensor();
  return Tensor(grads_ + spec.offset, DType::kF32, spec.shape, device_);
}

Tensor ParamStore::P16(const std::string& name) const {
  if (params16_ == nullptr) return Tensor();
  const ParamSpec& spec = table_->Get(name);
  return Tensor(params16_ + spec.offset, DType::kBF16, spec.shape, device_);
}

void ParamStore::NotifyPrefix(const std::string& prefix, const ParamReadyFn& ready) const {
  if (!ready) return;
  for (const ParamSpec& spec : table_->params()) {
    if (spec.trainable && spec.name.compare(0, prefix.size(), prefix) == 0) ready(spec.name);
  }
}

AffineRef GetAffine(const ParamStore& store, const std::string& prefix, bool has_bias) {
  AffineRef r;
  r.w = store.P(prefix + ".weight");
  r.dw = store.G(prefix + ".weight");
  r.w16 = store.P16(prefix + ".weight");
  if (has_bias) {
    r.b = store.P(prefix + ".bias");
    r.db = store.G(prefix + ".bias");
  }
  return r;
}

ParamTable BuildParamTable(const config::ModelConfig& cfg) {
  ParamTable table;
  TableBuilder t(&table, /*trainable=*/true);
  // nn.Module.state_dict lists a module's own parameters before its children's.
  t.Add("logit_scale", Shape{});
  t.ViT("query.", cfg.query());
  t.Linear("query_proj", cfg.query().width(), cfg.embed_dim(), /*bias=*/false);
  t.ViT("item_vision.", cfg.item());
  const config::TextConfig& text = cfg.text();
  t.Add("text.pos_embed", Shape{1, text.max_len(), text.width()});
  t.Add("text.token_embed.weight", Shape{text.vocab_size(), text.width()});
  for (int i = 0; i < text.depth(); ++i) {
    t.Block("text.blocks." + std::to_string(i) + ".", text.width(), text.mlp_ratio());
  }
  t.Norm("text.ln_final", text.width());
  const int64_t dv = cfg.item().width();
  if (cfg.ground_layers() > 0) {
    t.Linear("ground.text_proj", text.width(), dv);
    for (int i = 0; i < cfg.ground_layers(); ++i) {
      const std::string p = "ground.layers." + std::to_string(i) + ".";
      t.Norm(p + "ln_q", dv);
      t.Norm(p + "ln_kv", dv);
      t.Linear(p + "q", dv, dv);
      t.Linear(p + "kv", dv, 2 * dv);
      t.Linear(p + "proj", dv, dv);
      t.Norm(p + "ln_m", dv);
      t.Linear(p + "mlp.fc1", dv, 4 * dv);
      t.Linear(p + "mlp.fc2", 4 * dv, dv);
    }
    t.Norm("ground.ln_out", dv);
  }
  t.Linear("item_proj", dv + text.width(), cfg.embed_dim(), /*bias=*/false);
  if (cfg.has_teacher()) {
    TableBuilder frozen(&table, /*trainable=*/false);
    frozen.ViT("teacher.", cfg.teacher());
  }
  return table;
}

void InitParams(const ParamTable& table, const config::ModelConfig& cfg, uint64_t seed,
                float* params) {
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const auto& specs = table.params();
  for (size_t i = 0; i < specs.size(); ++i) {
    const ParamSpec& spec = specs[i];
    Tensor t = table.View(params, spec.name);
    Rng rng(seed, /*stream=*/i);
    const std::string& name = spec.name;
    const size_t dot = name.rfind('.');
    const std::string module = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string leaf = module.substr(module.rfind('.') + 1);
    if (name == "logit_scale") {
      t.f32()[0] = cfg.init_logit_scale();
    } else if (ends_with(name, "cls_token") || ends_with(name, "pos_embed")) {
      rng.FillNormal(t, 0.02f);
    } else if (ends_with(name, "token_embed.weight")) {
      rng.FillNormal(t, 1.0f);
    } else if (leaf.rfind("ln", 0) == 0) {  // LayerNorm: ln1, ln2, ln_final, ln_q, ...
      const float value = ends_with(name, ".weight") ? 1.0f : 0.0f;
      for (int64_t k = 0; k < t.numel(); ++k) t.f32()[k] = value;
    } else {
      // Linear / conv: U(±1/sqrt(fan_in)), fan_in = the weight's elements per output row.
      const ParamSpec& w = table.Get(module + ".weight");
      const double fan_in = static_cast<double>(w.numel() / w.shape[0]);
      const float bound = static_cast<float>(1.0 / std::sqrt(fan_in));
      rng.FillUniform(t, -bound, bound);
    }
  }
}

}  // namespace tigerfg::model
