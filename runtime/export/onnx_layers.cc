// runtime/export/onnx_layers.cc — the spec's building blocks as ONNX subgraphs (opset 17).
#include "runtime/export/onnx_layers.h"

#include <cmath>

namespace tigerfg::exporter {

namespace {

constexpr float kLnEps = 1e-6f;

using A = OnnxAttr;

}  // namespace

std::vector<std::string> SplitHeads(OnnxBuilder& b, const std::string& x, int64_t parts,
                                    int64_t heads, int64_t head_dim) {
  const std::string r = b.Op("Reshape", {x, b.Ints({0, 0, parts, heads, head_dim})});
  const std::string t = b.Op("Transpose", {r}, {A::Ints("perm", {2, 0, 3, 1, 4})});
  std::vector<std::string> out;
  for (int64_t i = 0; i < parts; ++i) {
    out.push_back(b.Op("Gather", {t, b.Ints({i})}, {A::Int("axis", 0)}));
    out.back() = b.Op("Squeeze", {out.back(), b.Ints({0})});
  }
  return out;
}

std::string Attend(OnnxBuilder& b, const std::string& q, const std::string& k, const std::string& v,
                   const std::string& key_bias, int64_t width, int64_t head_dim) {
  const std::string kt = b.Op("Transpose", {k}, {A::Ints("perm", {0, 1, 3, 2})});
  std::string s = b.Op("MatMul", {q, kt});
  s = b.Op("Div", {s, b.Scalar(static_cast<float>(std::sqrt(static_cast<double>(head_dim))))});
  if (!key_bias.empty()) s = b.Op("Add", {s, key_bias});
  const std::string p = b.Op("Softmax", {s}, {A::Int("axis", -1)});
  const std::string y = b.Op("MatMul", {p, v});
  const std::string yt = b.Op("Transpose", {y}, {A::Ints("perm", {0, 2, 1, 3})});
  return b.Op("Reshape", {yt, b.Ints({0, 0, width})});
}

std::string Linear(OnnxBuilder& b, const std::string& x, const std::string& prefix, bool bias) {
  // The initializer keeps the spec's [out, in]; ONNX Runtime folds the transpose at load time.
  const std::string wt =
      b.Op("Transpose", {b.Param(prefix + ".weight")}, {A::Ints("perm", {1, 0})});
  const std::string y = b.Op("MatMul", {x, wt});
  return bias ? b.Op("Add", {y, b.Param(prefix + ".bias")}) : y;
}

std::string LayerNorm(OnnxBuilder& b, const std::string& x, const std::string& prefix) {
  return b.Op("LayerNormalization", {x, b.Param(prefix + ".weight"), b.Param(prefix + ".bias")},
              {A::Int("axis", -1), A::Float("epsilon", kLnEps)});
}

std::string Mlp(OnnxBuilder& b, const std::string& x, const std::string& prefix) {
  const std::string h = Linear(b, x, prefix + ".fc1", true);
  // 0.5 h (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3)))
  const std::string h3 = b.Op("Mul", {b.Op("Mul", {h, h}), h});
  const std::string inner = b.Op("Add", {h, b.Op("Mul", {h3, b.Scalar(0.044715f)})});
  const float k = static_cast<float>(std::sqrt(2.0 / M_PI));
  const std::string t = b.Op("Tanh", {b.Op("Mul", {inner, b.Scalar(k)})});
  const std::string g =
      b.Op("Mul", {b.Op("Mul", {h, b.Scalar(0.5f)}), b.Op("Add", {t, b.Scalar(1.0f)})});
  return Linear(b, g, prefix + ".fc2", true);
}

std::string Block(OnnxBuilder& b, const std::string& x, const std::string& prefix, int64_t width,
                  int64_t heads, const std::string& key_bias) {
  const int64_t head_dim = width / heads;
  const std::string qkv = Linear(b, LayerNorm(b, x, prefix + "ln1"), prefix + "attn.qkv", true);
  const std::vector<std::string> split = SplitHeads(b, qkv, 3, heads, head_dim);
  const std::string y = Attend(b, split[0], split[1], split[2], key_bias, width, head_dim);
  const std::string x1 = b.Op("Add", {x, Linear(b, y, prefix + "attn.proj", true)});
  return b.Op("Add", {x1, Mlp(b, LayerNorm(b, x1, prefix + "ln2"), prefix + "mlp")});
}

std::string VitTokens(OnnxBuilder& b, const std::string& image, const std::string& prefix,
                      const config::ViTConfig& cfg) {
  const int64_t p = cfg.patch_size(), width = cfg.width();
  const std::string conv = b.Op(
      "Conv", {image, b.Param(prefix + "patch_embed.weight"), b.Param(prefix + "patch_embed.bias")},
      {A::Ints("kernel_shape", {p, p}), A::Ints("strides", {p, p})});
  // [B, width, g, g] -> [B, width, N] -> [B, N, width]: patches in row-major order.
  const std::string flat = b.Op("Reshape", {conv, b.Ints({0, 0, -1})});
  const std::string patches = b.Op("Transpose", {flat}, {A::Ints("perm", {0, 2, 1})});
  const std::string batch = b.Op("Slice", {b.Op("Shape", {image}), b.Ints({0}), b.Ints({1})});
  const std::string cls_shape = b.Op("Concat", {batch, b.Ints({1, width})}, {A::Int("axis", 0)});
  const std::string cls = b.Op("Expand", {b.Param(prefix + "cls_token"), cls_shape});
  std::string x = b.Op("Concat", {cls, patches}, {A::Int("axis", 1)});
  x = b.Op("Add", {x, b.Param(prefix + "pos_embed")});
  for (int i = 0; i < cfg.depth(); ++i) {
    x = Block(b, x, prefix + "blocks." + std::to_string(i) + ".", width, cfg.heads(), "");
  }
  return LayerNorm(b, x, prefix + "ln_final");
}

std::string TokenAt(OnnxBuilder& b, const std::string& x, int64_t index) {
  const std::string t = b.Op("Gather", {x, b.Ints({index})}, {A::Int("axis", 1)});
  return b.Op("Squeeze", {t, b.Ints({1})});
}

void L2NormalizeTo(OnnxBuilder& b, const std::string& x, const std::string& output) {
  const std::string norm = b.Op("ReduceL2", {x}, {A::Ints("axes", {-1}), A::Int("keepdims", 1)});
  b.OpTo(output, "Div", {x, b.Op("Max", {norm, b.Scalar(1e-12f)})});
}

}  // namespace tigerfg::exporter
