// runtime/checkpoint/weights_io.h — parameters to and from safetensors files under the spec's
// names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/core/param_table.h"
#include "runtime/core/status.h"

namespace tigerfg::train {

// Copies the file's tensors into `params` by name. With require_all, a parameter missing from the
// file is an error; a tensor of the right name with the wrong shape or dtype always is. Nothing is
// copied unless every check passed (with a prefix map, require_all covers the mapped targets).
// A NaN or infinite value is an error naming the file and the tensor.
// `prefix_map` renames file names first ("query." -> "teacher." maps the file's query.* tensors
// onto the table's teacher.* parameters); with a map, only mapped names are loaded.
Status LoadWeights(const std::string& path, const ParamTable& table, float* params,
                   bool require_all,
                   const std::vector<std::pair<std::string, std::string>>& prefix_map = {});

// Writes every parameter (trainable and frozen) of `table` from `params`.
Status SaveWeights(const std::string& path, const ParamTable& table, const float* params,
                   const std::map<std::string, std::string>& metadata = {});

}  // namespace tigerfg::train
