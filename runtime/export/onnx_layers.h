// runtime/export/onnx_layers.h — the spec's building blocks (Linear, LayerNorm, tanh-GELU MLP,
// pre-LN transformer block, ViT, L2 normalisation) as ONNX subgraphs. Each takes and returns value
// names; `prefix` is the spec's module name, whose parameters become initializers.
#pragma once

#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/export/onnx_builder.h"

namespace tigerfg::exporter {

// x[..., in] @ weight[out, in]^T (+ bias[out]).
std::string Linear(OnnxBuilder& b, const std::string& x, const std::string& prefix, bool bias);
// LayerNormalization over the last axis, eps 1e-6 (the spec's LN_EPS).
std::string LayerNorm(OnnxBuilder& b, const std::string& x, const std::string& prefix);
// fc2(gelu_tanh(fc1(x))); opset 17 has no Gelu, so the tanh form is spelled out.
std::string Mlp(OnnxBuilder& b, const std::string& x, const std::string& prefix);

// Splits x[B, S, parts * D] as the spec's view(B, S, parts, heads, d).permute(2, 0, 3, 1, 4) into
// `parts` tensors [B, heads, S, d] (qkv: q, k, v; kv: k, v).
std::vector<std::string> SplitHeads(OnnxBuilder& b, const std::string& x, int64_t parts,
                                    int64_t heads, int64_t head_dim);
// softmax(q k^T / sqrt(head_dim) + key_bias) v with heads merged back: q[B, h, Sq, d],
// k, v [B, h, Sk, d] -> [B, Sq, width]. `key_bias` may be empty.
std::string Attend(OnnxBuilder& b, const std::string& q, const std::string& k, const std::string& v,
                   const std::string& key_bias, int64_t width, int64_t head_dim);

// The pre-LN block on x[B, S, width]; `key_bias` [B, 1, 1, S] (0 or a large negative) is added to
// the attention scores, or is empty for unmasked attention.
std::string Block(OnnxBuilder& b, const std::string& x, const std::string& prefix, int64_t width,
                  int64_t heads, const std::string& key_bias);

// ViT over image[B, C, H, W]: the final-LayerNorm tokens [B, 1 + grid², width], CLS first.
std::string VitTokens(OnnxBuilder& b, const std::string& image, const std::string& prefix,
                      const config::ViTConfig& cfg);

// x[B, S, D] -> x[:, index] [B, D].
std::string TokenAt(OnnxBuilder& b, const std::string& x, int64_t index);

// Writes x[B, E] / max(||x||_2, 1e-12) (F.normalize) to the value named `output`.
void L2NormalizeTo(OnnxBuilder& b, const std::string& x, const std::string& output);

}  // namespace tigerfg::exporter
