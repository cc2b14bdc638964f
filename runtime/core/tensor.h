// runtime/core/tensor.h — a non-owning view of contiguous memory: pointer, dtype, device and shape.
// Ops take Tensors by value; memory belongs to a Buffer (the one owning type, on any device).
#pragma once

#include <glog/logging.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace tigerfg {

enum class DType : uint8_t { kF32, kBF16, kI64, kI32, kU8 };
enum class Device : uint8_t { kCpu, kCuda };

size_t DTypeSize(DType dtype);
const char* DTypeName(DType dtype);  // safetensors spelling: F32, BF16, I64, I32, U8

// The byte size of a tensor of `dims` with `elem_bytes` per element into *bytes; false when a
// dimension is negative or the element count or byte size overflows int64. Shapes read from
// files go through this before a Shape or a Buffer is built from them.
bool CheckedByteSize(const std::vector<int64_t>& dims, size_t elem_bytes, int64_t* bytes);

class Shape {
 public:
  static constexpr int kMaxDims = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  // Dies when a dimension is negative or the element count overflows int64 (file readers check
  // with CheckedByteSize first and return an error instead).
  explicit Shape(const std::vector<int64_t>& dims);

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const;
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + ndim_}; }
  std::string ToString() const;  // "[2, 3, 4]"
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

class Tensor {
 public:
  Tensor() = default;  // the empty tensor: "absent" for optional arguments (bias, mask, dx)
  Tensor(void* data, DType dtype, Shape shape, Device device = Device::kCpu)
      : data_(data), dtype_(dtype), shape_(shape), device_(device) {}
  static Tensor F32(float* data, Shape shape, Device device = Device::kCpu) {
    return Tensor(data, DType::kF32, shape, device);
  }

  bool defined() const { return data_ != nullptr; }
  void* data() const { return data_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + shape_.ndim() : i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * DTypeSize(dtype_); }

  float* f32() const {
    CHECK(dtype_ == DType::kF32) << "tensor is " << DTypeName(dtype_) << ", not F32";
    return static_cast<float*>(data_);
  }
  int64_t* i64() const {
    CHECK(dtype_ == DType::kI64) << "tensor is " << DTypeName(dtype_) << ", not I64";
    return static_cast<int64_t*>(data_);
  }
  uint16_t* bf16() const {
    CHECK(dtype_ == DType::kBF16) << "tensor is " << DTypeName(dtype_) << ", not BF16";
    return static_cast<uint16_t*>(data_);
  }

  // Same memory, another shape with the same number of elements.
  Tensor View(Shape shape) const;
  // Rows [begin, end) along dimension 0.
  Tensor Slice(int64_t begin, int64_t end) const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
  Device device_ = Device::kCpu;
};

class Context;

// The one owning memory type: one tensor's bytes on one device, zero-filled. Host memory is
// 64-byte aligned; device memory comes from cudaMalloc on the context's GPU (CUDA builds only).
// Move-only; views (Tensor) carry the device. Copies between devices: runtime/core/buffer.h.
class Buffer {
 public:
  Buffer() = default;
  Buffer(DType dtype, Shape shape);  // host memory
  // Memory on ctx's device: host memory on a CPU context, device memory on a CUDA one.
  Buffer(const Context& ctx, DType dtype, Shape shape);
  static Buffer Zeros(Shape shape) { return Buffer(DType::kF32, shape); }
  // Host memory that ctx's device copies to and from without the host waiting
  // (CopyToHostAsync, runtime/core/buffer.h): page-locked on a CUDA context, plain on a CPU one.
  static Buffer Pinned(const Context& ctx, DType dtype, Shape shape);

  Tensor tensor() const { return Tensor(storage_.get(), dtype_, shape_, device_); }
  operator Tensor() const { return tensor(); }  // NOLINT: a Buffer is usable wherever a view is
  float* f32() const { return tensor().f32(); }
  int64_t* i64() const { return tensor().i64(); }
  void* data() const { return storage_.get(); }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return tensor().nbytes(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

 private:
  struct Free {
    Device device;  // value-initialised: kCpu
    bool pinned;    // page-locked host memory (cudaHostAlloc)
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  Shape shape_;
  Device device_ = Device::kCpu;
  std::unique_ptr<void, Free> storage_;
};

}  // namespace tigerfg
