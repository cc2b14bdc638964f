// runtime/core/param_table.h — the one table of parameter names and shapes, and the flat buffers
// laid out by it. Names are the spec's state_dict names. Trainable parameters come first, frozen
// ones (the teacher) after, so gradients and optimizer state cover the prefix
// [0, trainable_numel()).
//
// Alignment: every tensor's offset is a multiple of alignment() elements, by default
// kParamAlignment = 64 (256 bytes of fp32). The fp32 buffers laid out by the table (parameters,
// gradients, AdamW moments) then hold every tensor at a 256-byte boundary and the bf16 mirror
// (same element offsets) at a 128-byte one, given the allocators' aligned bases (cudaMalloc: 256
// bytes): what cuBLASLt's bias epilogues and the fast Hopper GEMMs want, and 16-byte vector loads.
// The gaps between tensors (and after the last one) belong to no tensor: they are zero in every
// buffer (buffers are allocated zeroed, and everything writes through tensor views), the optimizer
// never updates them, gradient buckets may cover them (the mean of zeros is zero) and the gradient
// norm is unchanged by them. Checkpoints and safetensors files store tensors by name, so their
// format does not depend on the layout.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/tensor.h"

namespace tigerfg {

// Elements between tensor offsets in the flat buffers: 256 bytes of fp32.
inline constexpr int64_t kParamAlignment = 64;

struct ParamSpec {
  std::string name;
  Shape shape;
  bool trainable = true;
  bool decay = false;  // AdamW weight decay applies (matrices: Linear, conv and embedding weights)
  int64_t offset = 0;  // in elements, into the flat buffers; a multiple of the table's alignment
  int64_t numel() const { return shape.numel(); }
};

class ParamTable {
 public:
  // alignment 1 packs the tensors back to back (the layout before alignment; tests use it to
  // write files in the old layout).
  explicit ParamTable(int64_t alignment = kParamAlignment);

  // Appends a parameter at the next aligned offset; every trainable one must be added before the
  // first frozen one.
  void Add(const std::string& name, Shape shape, bool trainable, bool decay);

  const std::vector<ParamSpec>& params() const { return params_; }
  const ParamSpec* Find(const std::string& name) const;
  const ParamSpec& Get(const std::string& name) const;  // CHECKs that it exists
  int64_t alignment() const { return alignment_; }
  // Flat buffer sizes: the end of the last (trainable) tensor rounded up to the alignment, so
  // trainable_numel() is the offset of the first frozen tensor.
  int64_t total_numel() const { return total_; }
  int64_t trainable_numel() const { return trainable_; }

  // The named parameter as a view into a flat buffer laid out by this table.
  Tensor View(float* base, const std::string& name, Device device = Device::kCpu) const;

 private:
  int64_t alignment_;
  std::vector<ParamSpec> params_;
  std::unordered_map<std::string, size_t> index_;
  int64_t total_ = 0;
  int64_t trainable_ = 0;
};

}  // namespace tigerfg
