// configs/spec_json.cc — ModelConfig as the JSON that spec/tigerfg_ref.py TigerFGConfig.from_dict
// reads; the parity tests hand it to `tigerfg_ref.py grads --config`.
#include <nlohmann/json.hpp>

#include "configs/config.h"

namespace tigerfg::config {
namespace {

using Json = nlohmann::ordered_json;

// Floats are widened exactly, so Python sees the float32 value the runtime computes with.
double Exact(float v) { return static_cast<double>(v); }

Json ViTJson(const ViTConfig& vit) {
  Json j;
  j["image_size"] = vit.image_size();
  j["patch_size"] = vit.patch_size();
  j["channels"] = vit.channels();
  j["width"] = vit.width();
  j["depth"] = vit.depth();
  j["heads"] = vit.heads();
  j["mlp_ratio"] = vit.mlp_ratio();
  return j;
}

Json TextJson(const TextConfig& text) {
  Json j;
  j["vocab_size"] = text.vocab_size();
  j["max_len"] = text.max_len();
  j["width"] = text.width();
  j["depth"] = text.depth();
  j["heads"] = text.heads();
  j["mlp_ratio"] = text.mlp_ratio();
  return j;
}

}  // namespace

std::string ModelConfigToSpecJson(const ModelConfig& model) {
  Json j;
  j["query"] = ViTJson(model.query());
  j["item"] = ViTJson(model.item());
  j["text"] = TextJson(model.text());
  j["teacher"] = model.has_teacher() ? ViTJson(model.teacher()) : Json(nullptr);
  j["ground_layers"] = model.ground_layers();
  j["ground_heads"] = model.ground_heads();
  j["embed_dim"] = model.embed_dim();
  j["w_contrastive"] = Exact(model.w_contrastive());
  j["w_srd"] = Exact(model.w_srd());
  j["w_sdd"] = Exact(model.w_sdd());
  j["tau_map"] = Exact(model.tau_map());
  j["tau_teacher"] = Exact(model.tau_teacher());
  j["init_logit_scale"] = Exact(model.init_logit_scale());
  j["max_logit_scale"] = Exact(model.max_logit_scale());
  // Written only when not the default, so a default config's JSON (and exported metadata) keeps
  // its fields.
  if (model.srd_target() == ModelConfig::MASK) j["srd_target"] = "MASK";
  return j.dump(2);
}

}  // namespace tigerfg::config
