// runtime/export/onnx_builder.h — appends ONNX nodes, constants and initializers to one graph, so
// the tower graphs (onnx_query.cc, onnx_item.cc) read like the spec's forward functions.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "onnx/onnx_pb.h"
#include "runtime/core/param_table.h"
#include "runtime/export/onnx_export.h"

namespace tigerfg::exporter {

// One node attribute: ints, a float or an int (the kinds the tower graphs use).
struct OnnxAttr {
  std::string name;
  enum class Kind { kInt, kInts, kFloat } kind;
  std::vector<int64_t> ints;
  float f = 0;
  static OnnxAttr Int(std::string name, int64_t v) { return {std::move(name), Kind::kInt, {v}}; }
  static OnnxAttr Ints(std::string name, std::vector<int64_t> v) {
    return {std::move(name), Kind::kInts, std::move(v)};
  }
  static OnnxAttr Float(std::string name, float v) {
    return {std::move(name), Kind::kFloat, {}, v};
  }
};

class OnnxBuilder {
 public:
  // Parameters are copied from `params` (laid out by `table`) when a graph first uses them.
  OnnxBuilder(const ParamTable& table, const float* params, const std::string& graph_name);

  // Graph inputs and outputs; a negative dim is symbolic, named by the matching `dim_names` entry.
  void AddInput(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                const std::vector<std::string>& dim_names);
  void AddOutput(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                 const std::vector<std::string>& dim_names);

  // The named parameter as an initializer (its spec name and shape), added once.
  std::string Param(const std::string& name);
  // Constants as initializers: a float scalar, an int64 vector.
  std::string Scalar(float value);
  std::string Ints(const std::vector<int64_t>& values);
  // A float initializer of any shape under a graph-unique name built from `hint`.
  std::string FloatConst(const std::string& hint, const std::vector<int64_t>& dims,
                         const std::vector<float>& values);

  // Appends a node with one output and returns that output's (fresh) name.
  std::string Op(const std::string& op_type, const std::vector<std::string>& inputs,
                 const std::vector<OnnxAttr>& attrs = {});
  // Appends a node whose single output gets exactly `output` (a graph output's name).
  void OpTo(const std::string& output, const std::string& op_type,
            const std::vector<std::string>& inputs, const std::vector<OnnxAttr>& attrs = {});

  // The finished model: ONNX 1.12's IR version (8), the default domain at opset 17.
  onnx::ModelProto Finish(const std::string& doc);

 private:
  onnx::NodeProto* NewNode(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<OnnxAttr>& attrs);
  std::string Fresh(const std::string& hint);

  const ParamTable& table_;
  const float* params_;
  onnx::GraphProto graph_;
  std::unordered_set<std::string> params_added_;
  int64_t next_id_ = 0;
};

}  // namespace tigerfg::exporter
