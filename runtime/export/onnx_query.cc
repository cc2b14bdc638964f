// runtime/export/onnx_query.cc — the query tower graph (the spec's encode_query), and the checks
// and file writing shared by both towers.
#include <cstdio>
#include <exception>
#include <fstream>

#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "runtime/export/onnx_export.h"
#include "runtime/export/onnx_layers.h"

namespace tigerfg::exporter {

onnx::ModelProto BuildQueryTowerOnnx(const config::ModelConfig& cfg, const ParamTable& table,
                                     const float* params) {
  const config::ViTConfig& q = cfg.query();
  OnnxBuilder b(table, params, "tigerfg_query_tower");
  b.AddInput("image", onnx::TensorProto::FLOAT, {-1, q.channels(), q.image_size(), q.image_size()},
             {"batch", "", "", ""});
  b.AddOutput("embedding", onnx::TensorProto::FLOAT, {-1, cfg.embed_dim()}, {"batch", ""});
  // LayerNorm is per token, so taking CLS before or after ln_final is the same.
  const std::string cls = TokenAt(b, VitTokens(b, "image", "query.", q), 0);
  L2NormalizeTo(b, Linear(b, cls, "query_proj", /*bias=*/false), "embedding");
  return b.Finish("TIGER-FG query tower: cropped product image -> L2-normalised embedding");
}

Status CheckOnnxModel(onnx::ModelProto* model, const std::string& what) {
  try {
    onnx::checker::check_model(*model);
    const size_t declared_value_infos = model->graph().value_info_size();
    onnx::ShapeInferenceOptions options(/*check_type_val=*/true, /*strict_mode_val=*/1,
                                        /*data_prop_val=*/true);
    onnx::shape_inference::InferShapes(*model, onnx::OpSchemaRegistry::Instance(), options);
    // Inference annotates every intermediate value; the exported file stays as it was built.
    while (static_cast<size_t>(model->graph().value_info_size()) > declared_value_infos) {
      model->mutable_graph()->mutable_value_info()->RemoveLast();
    }
  } catch (const std::exception& e) {
    return Status::Error(what + ": the ONNX checker rejected the graph: " + e.what());
  }
  return Status::Ok();
}

Status WriteOnnxModel(const onnx::ModelProto& model, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Error(path + ": cannot open " + tmp + " for writing");
    if (!model.SerializeToOstream(&out)) {
      return Status::Error(path + ": cannot serialise the ONNX model (over 2 GiB?)");
    }
    out.close();
    if (!out) return Status::Error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Error(path + ": cannot rename " + tmp);
  }
  return Status::Ok();
}

}  // namespace tigerfg::exporter
