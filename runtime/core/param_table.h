// runtime/core/param_table.h — the one table of parameter names and shapes, and the flat buffers laid
// out by it. Names are the spec's state_dict names. Trainable parameters come first, frozen ones
// (the teacher) after, so gradients and optimizer state cover the prefix [0, trainable_numel()).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/tensor.h"

namespace tigerfg {

struct ParamSpec {
  std::string name;
  Shape shape;
  bool trainable = true;
  bool decay = false;   // AdamW weight decay applies (matrices: Linear, conv and embedding weights)
  int64_t offset = 0;   // in elements, into the flat buffers
  int64_t numel() const { return shape.numel(); }
};

class ParamTable {
 public:
  // Appends a parameter; every trainable one must be added before the first frozen one.
  void Add(const std::string& name, Shape shape, bool trainable, bool decay);

  const std::vector<ParamSpec>& params() const { return params_; }
  const ParamSpec* Find(const std::string& name) const;
  const ParamSpec& Get(const std::string& name) const;  // CHECKs that it exists
  int64_t total_numel() const { return total_; }
  int64_t trainable_numel() const { return trainable_; }

  // The named parameter as a view into a flat buffer laid out by this table.
  Tensor View(float* base, const std::string& name, Device device = Device::kCpu) const;

 private:
  std::vector<ParamSpec> params_;
  std::unordered_map<std::string, size_t> index_;
  int64_t total_ = 0;
  int64_t trainable_ = 0;
};

}  // namespace tigerfg
