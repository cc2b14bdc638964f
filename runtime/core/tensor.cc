// runtime/core/tensor.cc — shapes, views and aligned host buffers.
#include "runtime/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace tigerfg {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kBF16:
      return 2;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
  }
  LOG(FATAL) << "unknown dtype";
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kBF16:
      return "BF16";
    case DType::kI64:
      return "I64";
    case DType::kI32:
      return "I32";
    case DType::kU8:
      return "U8";
  }
  LOG(FATAL) << "unknown dtype";
}

bool CheckedByteSize(const std::vector<int64_t>& dims, size_t elem_bytes, int64_t* bytes) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : dims) {
    if (d < 0) return false;
    // A zero dimension makes the count 0 even after an overflowing prefix ([2^40, 2^40, 0]).
    if (d == 0) return (*bytes = 0, true);
    overflow = overflow || __builtin_mul_overflow(n, d, &n);
  }
  if (overflow || elem_bytes > static_cast<size_t>(INT64_MAX) ||
      __builtin_mul_overflow(n, static_cast<int64_t>(elem_bytes), &n))
    return false;
  *bytes = n;
  return true;
}

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  CHECK_LE(dims.size(), static_cast<size_t>(kMaxDims)) << "too many dimensions";
  ndim_ = static_cast<int>(dims.size());
  for (int i = 0; i < ndim_; ++i) {
    CHECK_GE(dims[i], 0) << "negative dimension";
    dims_[i] = dims[i];
  }
  int64_t n = 0;
  CHECK(CheckedByteSize(dims, 1, &n)) << "shape " << ToString() << ": the element count overflows "
                                      << "int64";
}

int64_t Shape::operator[](int i) const {
  CHECK(i >= 0 && i < ndim_) << "dimension " << i << " of " << ToString();
  return dims_[i];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::ToString() const {
  std::ostringstream s;
  s << "[";
  for (int i = 0; i < ndim_; ++i) s << (i ? ", " : "") << dims_[i];
  s << "]";
  return s.str();
}

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

Tensor Tensor::View(Shape shape) const {
  CHECK_EQ(shape.numel(), numel()) << "view " << shape.ToString() << " of " << shape_.ToString();
  return Tensor(data_, dtype_, shape, device_);
}

Tensor Tensor::Slice(int64_t begin, int64_t end) const {
  CHECK(ndim() >= 1 && 0 <= begin && begin <= end && end <= dim(0))
      << "slice [" << begin << ", " << end << ") of " << shape_.ToString();
  std::vector<int64_t> dims = shape_.dims();
  const int64_t row = numel() / (dims[0] == 0 ? 1 : dims[0]);
  dims[0] = end - begin;
  auto* base = static_cast<unsigned char*>(data_);
  return Tensor(base + begin * row * DTypeSize(dtype_), dtype_, Shape(dims), device_);
}

}  // namespace tigerfg
