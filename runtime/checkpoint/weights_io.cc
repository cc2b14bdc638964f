// runtime/checkpoint/weights_io.cc — load and save parameters by name.
#include "runtime/checkpoint/weights_io.h"

#include <cmath>
#include <cstring>

#include "runtime/core/safetensors.h"

namespace tigerfg::train {

Status LoadWeights(const std::string& path, const ParamTable& table, float* params,
                   bool require_all,
                   const std::vector<std::pair<std::string, std::string>>& prefix_map) {
  TIGERFG_ASSIGN_OR_RETURN(TensorFile file, ReadSafetensors(path));
  // Plan every copy first so that nothing is loaded partially.
  std::vector<std::pair<const ParamSpec*, Tensor>> copies;
  std::map<std::string, const Buffer*> renamed;
  for (const auto& [name, buffer] : file.tensors) {
    if (prefix_map.empty()) {
      renamed[name] = &buffer;
      continue;
    }
    for (const auto& [from, to] : prefix_map)
      if (name.rfind(from, 0) == 0) renamed[to + name.substr(from.size())] = &buffer;
  }
  for (const ParamSpec& p : table.params()) {
    auto it = renamed.find(p.name);
    if (it == renamed.end()) {
      bool wanted = prefix_map.empty();
      for (const auto& [from, to] : prefix_map) wanted |= p.name.rfind(to, 0) == 0;
      if (require_all && wanted) return Status::Error(path + ": missing tensor for " + p.name);
      continue;
    }
    const Buffer& b = *it->second;
    if (b.dtype() != DType::kF32)
      return Status::Error(path + ": tensor for " + p.name + " is " + DTypeName(b.dtype()) +
                           ", expected F32");
    if (b.shape() != p.shape)
      return Status::Error(path + ": tensor for " + p.name + " has shape " + b.shape().ToString() +
                           ", expected " + p.shape.ToString());
    // NaN or infinite weights would only show later as a non-finite loss ("lower optim.lr?") or
    // as a silently broken export.
    const float* v = b.tensor().f32();
    for (int64_t i = 0; i < b.numel(); ++i)
      if (!std::isfinite(v[i]))
        return Status::Error(path + ": tensor " + it->first + " holds a non-finite value (" +
                             std::to_string(v[i]) + " at element " + std::to_string(i) + ")");
    copies.emplace_back(&p, b.tensor());
  }
  if (!prefix_map.empty() && copies.empty())
    return Status::Error(path + ": no tensor matches the prefix mapping");
  for (const auto& [p, t] : copies)
    std::memcpy(params + p->offset, t.data(), static_cast<size_t>(p->numel()) * sizeof(float));
  return Status::Ok();
}

Status SaveWeights(const std::string& path, const ParamTable& table, const float* params,
                   const std::map<std::string, std::string>& metadata) {
  std::vector<NamedTensor> tensors;
  for (const ParamSpec& p : table.params())
    tensors.push_back({p.name, Tensor::F32(const_cast<float*>(params) + p.offset, p.shape)});
  return WriteSafetensors(path, tensors, metadata);
}

}  // namespace tigerfg::train
