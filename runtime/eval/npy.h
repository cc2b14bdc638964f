// runtime/eval/npy.h — NumPy .npy (format 1.0) files of float32 matrices, the form a FAISS
// index build reads catalogue embeddings in.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/core/status.h"

namespace tigerfg::eval {

// Writes data[rows, cols] (row-major, little-endian float32) as a C-order '<f4' array.
Status WriteNpyF32(const std::string& path, const float* data, int64_t rows, int64_t cols);

}  // namespace tigerfg::eval
