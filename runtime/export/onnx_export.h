// runtime/export/onnx_export.h — ONNX graphs (opset 17, dynamic batch) of the serving towers,
// built from the flat parameters, checked by ONNX's checker and strict shape inference.
//   query tower: image [batch, C, H, W] F32 -> embedding [batch, embed_dim], L2-normalised
//   item tower:  image [batch, C, H, W] F32, title_ids [batch, title_len] I64 (0 = padding,
//                position 0 = CLS, title_len <= max_len) -> embedding [batch, embed_dim]
#pragma once

#include <string>

#include "configs/tigerfg.pb.h"
#include "onnx/onnx_pb.h"
#include "runtime/core/param_table.h"
#include "runtime/core/status.h"

namespace tigerfg::exporter {

// The only opset written (config export.onnx_opset must say the same).
constexpr int kOnnxOpset = 17;

// `table` is model::BuildParamTable(cfg) and `params` is laid out by it; the teacher's
// parameters, when present, are never read.
onnx::ModelProto BuildQueryTowerOnnx(const config::ModelConfig& cfg, const ParamTable& table,
                                     const float* params);
onnx::ModelProto BuildItemTowerOnnx(const config::ModelConfig& cfg, const ParamTable& table,
                                    const float* params);

// onnx::checker::check_model, then strict shape inference (types checked, node errors thrown),
// which must agree with the declared output shape. Leaves the model as it was.
Status CheckOnnxModel(onnx::ModelProto* model, const std::string& what);

// Serialises to `path` (via path + ".tmp", renamed); protobuf caps a model at 2 GiB.
Status WriteOnnxModel(const onnx::ModelProto& model, const std::string& path);

}  // namespace tigerfg::exporter
