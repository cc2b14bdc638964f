// runtime/export/onnx_builder.cc — node, initializer and value-info plumbing for the tower graphs.
#include "runtime/export/onnx_builder.h"

#include <glog/logging.h>

#include <cstring>

namespace tigerfg::exporter {

namespace {

void SetTensorType(onnx::ValueInfoProto* info, int32_t elem_type, const std::vector<int64_t>& dims,
                   const std::vector<std::string>& dim_names) {
  CHECK_EQ(dims.size(), dim_names.size()) << info->name();
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  for (size_t i = 0; i < dims.size(); ++i) {
    onnx::TensorShapeProto_Dimension* d = t->mutable_shape()->add_dim();
    if (dims[i] < 0) {
      d->set_dim_param(dim_names[i]);
    } else {
      d->set_dim_value(dims[i]);
    }
  }
}

}  // namespace

OnnxBuilder::OnnxBuilder(const ParamTable& table, const float* params,
                         const std::string& graph_name)
    : table_(table), params_(params) {
  graph_.set_name(graph_name);
}

void OnnxBuilder::AddInput(const std::string& name, int32_t elem_type,
                           const std::vector<int64_t>& dims,
                           const std::vector<std::string>& dim_names) {
  onnx::ValueInfoProto* info = graph_.add_input();
  info->set_name(name);
  SetTensorType(info, elem_type, dims, dim_names);
}

void OnnxBuilder::AddOutput(const std::string& name, int32_t elem_type,
                            const std::vector<int64_t>& dims,
                            const std::vector<std::string>& dim_names) {
  onnx::ValueInfoProto* info = graph_.add_output();
  info->set_name(name);
  SetTensorType(info, elem_type, dims, dim_names);
}

std::string OnnxBuilder::Param(const std::string& name) {
  if (params_added_.insert(name).second) {
    const ParamSpec& spec = table_.Get(name);
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : spec.shape.dims()) t->add_dims(d);
    // raw_data is little-endian, as the flat buffer is on every machine we build for.
    t->set_raw_data(params_ + spec.offset, static_cast<size_t>(spec.numel()) * sizeof(float));
  }
  return name;
}

std::string OnnxBuilder::FloatConst(const std::string& hint, const std::vector<int64_t>& dims,
                                    const std::vector<float>& values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(Fresh(hint));
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
  return t->name();
}

std::string OnnxBuilder::Scalar(float value) { return FloatConst("const", {}, {value}); }

std::string OnnxBuilder::Ints(const std::vector<int64_t>& values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(Fresh("ints"));
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  return t->name();
}

onnx::NodeProto* OnnxBuilder::NewNode(const std::string& op_type,
                                      const std::vector<std::string>& inputs,
                                      const std::vector<OnnxAttr>& attrs) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op_type);
  node->set_name(Fresh(op_type));
  for (const std::string& in : inputs) node->add_input(in);
  for (const OnnxAttr& a : attrs) {
    onnx::AttributeProto* p = node->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
      case OnnxAttr::Kind::kInt:
        p->set_type(onnx::AttributeProto::INT);
        p->set_i(a.ints.at(0));
        break;
      case OnnxAttr::Kind::kInts:
        p->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : a.ints) p->add_ints(v);
        break;
      case OnnxAttr::Kind::kFloat:
        p->set_type(onnx::AttributeProto::FLOAT);
        p->set_f(a.f);
        break;
    }
  }
  return node;
}

std::string OnnxBuilder::Op(const std::string& op_type, const std::vector<std::string>& inputs,
                            const std::vector<OnnxAttr>& attrs) {
  onnx::NodeProto* node = NewNode(op_type, inputs, attrs);
  node->add_output(node->name() + "_out");
  return node->output(0);
}

void OnnxBuilder::OpTo(const std::string& output, const std::string& op_type,
                       const std::vector<std::string>& inputs, const std::vector<OnnxAttr>& attrs) {
  NewNode(op_type, inputs, attrs)->add_output(output);
}

std::string OnnxBuilder::Fresh(const std::string& hint) {
  return "/" + hint + "_" + std::to_string(next_id_++);
}

onnx::ModelProto OnnxBuilder::Finish(const std::string& doc) {
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);  // 8 in ONNX 1.12, which knows opset 17
  model.set_producer_name("tigerfg");
  model.set_doc_string(doc);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  *model.mutable_graph() = std::move(graph_);
  return model;
}

}  // namespace tigerfg::exporter
