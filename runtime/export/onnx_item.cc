// runtime/export/onnx_item.cc — the item tower graph (the spec's encode_item without the map):
// item ViT, title encoder, text-guided grounding (or the CLS baseline), item_proj, L2 norm.
#include <limits>

#include "runtime/export/onnx_export.h"
#include "runtime/export/onnx_layers.h"

namespace tigerfg::exporter {

namespace {

using A = OnnxAttr;

// Added to the scores of padding keys: exp underflows to exactly 0, as with the spec's -inf,
// but a row of padding cannot turn into NaN.
constexpr float kMaskedScore = -1e9f;

// The title encoder: ids [B, L] -> final-LayerNorm tokens [B, L, Dt].
std::string TextTokens(OnnxBuilder& b, const std::string& ids, const config::TextConfig& cfg) {
  const std::string len = b.Op("Slice", {b.Op("Shape", {ids}), b.Ints({1}), b.Ints({2})});
  auto first_len = [&](const std::string& table_1xmax) {  // [1, max_len, ...] -> [1, L, ...]
    return b.Op("Slice", {table_1xmax, b.Ints({0}), len, b.Ints({1})});
  };
  std::string x = b.Op("Gather", {b.Param("text.token_embed.weight"), ids}, {A::Int("axis", 0)});
  x = b.Op("Add", {x, first_len(b.Param("text.pos_embed"))});

  // key_bias [B, 1, 1, L]: kMaskedScore where id == 0, except position 0 (CLS), which every
  // title has, so no query row is left without a key.
  std::vector<float> not_cls(cfg.max_len(), 1.0f);
  not_cls[0] = 0.0f;
  const std::string not_cls_mask = first_len(b.FloatConst("not_cls", {1, cfg.max_len()}, not_cls));
  const std::string pad =
      b.Op("Cast", {b.Op("Equal", {ids, b.Ints({0})})}, {A::Int("to", onnx::TensorProto::FLOAT)});
  const std::string bias = b.Op("Mul", {b.Op("Mul", {pad, not_cls_mask}), b.Scalar(kMaskedScore)});
  const std::string key_bias = b.Op("Unsqueeze", {bias, b.Ints({1, 2})});

  for (int i = 0; i < cfg.depth(); ++i) {
    x = Block(b, x, "text.blocks." + std::to_string(i) + ".", cfg.width(), cfg.heads(), key_bias);
  }
  return LayerNorm(b, x, "text.ln_final");
}

// One GroundLayer: guide g [B, 1, D] attends over patches [B, N, D]; returns the new guide.
std::string GroundLayer(OnnxBuilder& b, const std::string& g, const std::string& patches,
                        const std::string& prefix, int64_t width, int64_t heads) {
  const int64_t head_dim = width / heads;
  const std::string q_flat = Linear(b, LayerNorm(b, g, prefix + "ln_q"), prefix + "q", true);
  const std::string q =
      b.Op("Transpose", {b.Op("Reshape", {q_flat, b.Ints({0, 0, heads, head_dim})})},
           {A::Ints("perm", {0, 2, 1, 3})});  // [B, h, 1, d]
  const std::string kv = Linear(b, LayerNorm(b, patches, prefix + "ln_kv"), prefix + "kv", true);
  const std::vector<std::string> k_v = SplitHeads(b, kv, 2, heads, head_dim);
  const std::string y = Attend(b, q, k_v[0], k_v[1], "", width, head_dim);
  const std::string g1 = b.Op("Add", {g, Linear(b, y, prefix + "proj", true)});
  return b.Op("Add", {g1, Mlp(b, LayerNorm(b, g1, prefix + "ln_m"), prefix + "mlp")});
}

}  // namespace

onnx::ModelProto BuildItemTowerOnnx(const config::ModelConfig& cfg, const ParamTable& table,
                                    const float* params) {
  const config::ViTConfig& it = cfg.item();
  OnnxBuilder b(table, params, "tigerfg_item_tower");
  b.AddInput("image", onnx::TensorProto::FLOAT,
             {-1, it.channels(), it.image_size(), it.image_size()}, {"batch", "", "", ""});
  b.AddInput("title_ids", onnx::TensorProto::INT64, {-1, -1}, {"batch", "title_len"});
  b.AddOutput("embedding", onnx::TensorProto::FLOAT, {-1, cfg.embed_dim()}, {"batch", ""});

  const std::string v = VitTokens(b, "image", "item_vision.", it);              // [B, 1 + N, Dv]
  const std::string t = TokenAt(b, TextTokens(b, "title_ids", cfg.text()), 0);  // [B, Dt]
  std::string g;                                                                // [B, Dv]
  if (cfg.ground_layers() == 0) {
    g = TokenAt(b, v, 0);
  } else {
    const std::string patches =
        b.Op("Slice", {v, b.Ints({1}), b.Ints({std::numeric_limits<int64_t>::max()}), b.Ints({1})});
    g = b.Op("Unsqueeze", {Linear(b, t, "ground.text_proj", true), b.Ints({1})});
    for (int i = 0; i < cfg.ground_layers(); ++i) {
      g = GroundLayer(b, g, patches, "ground.layers." + std::to_string(i) + ".", it.width(),
                      cfg.ground_heads());
    }
    g = LayerNorm(b, b.Op("Squeeze", {g, b.Ints({1})}), "ground.ln_out");
  }
  const std::string joint = b.Op("Concat", {g, t}, {A::Int("axis", -1)});  // [B, Dv + Dt]
  L2NormalizeTo(b, Linear(b, joint, "item_proj", /*bias=*/false), "embedding");
  return b.Finish(cfg.ground_layers() == 0
                      ? "TIGER-FG item tower (CLS baseline): item image + title ids -> embedding"
                      : "TIGER-FG item tower (text-guided grounding): item image + title ids -> "
                        "embedding");
}

}  // namespace tigerfg::exporter
