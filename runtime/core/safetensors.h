// runtime/core/safetensors.h — read and write the safetensors format (8-byte little-endian header
// length, JSON header of name -> dtype/shape/data_offsets, raw little-endian data), the format
// the spec writes for weights, batches and gradients.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg {

// An in-memory safetensors file: named host buffers plus the optional __metadata__ strings.
struct TensorFile {
  std::map<std::string, Buffer> tensors;
  std::map<std::string, std::string> metadata;

  bool Has(const std::string& name) const { return tensors.count(name) > 0; }
  // The named tensor, checked to exist with the expected dtype and shape; the error names the
  // file (`origin`), the tensor and what differs.
  StatusOr<Tensor> Get(const std::string& name, DType dtype, const Shape& shape) const;
  std::string origin;  // file path, for error messages
};

// Reads the whole file; every structural problem (short file, bad header JSON, unknown dtype,
// offsets out of range or overlapping, shape/bytes mismatch) is an error naming the file.
StatusOr<TensorFile> ReadSafetensors(const std::string& path);

// A tensor to write: the view's bytes are copied into the file as they are.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};
// Writes atomically (to path + ".tmp", then renamed). Names are sorted as the spec sorts them.
Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace tigerfg
