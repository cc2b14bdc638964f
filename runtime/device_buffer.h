// runtime/device_buffer.h — owning device memory for one tensor (tests, staging, the model's
// buffers in CUDA builds). Defined in runtime/device_buffer.cu: CUDA builds only. No CUDA headers
// here, so CPU code may include it.
#pragma once

#include "runtime/context.h"
#include "runtime/tensor.h"

namespace tigerfg {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // cudaMalloc on the current device, zero-filled.
  DeviceBuffer(DType dtype, Shape shape);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // A view with Device::kCuda.
  Tensor tensor() const { return Tensor(data_, dtype_, shape_, Device::kCuda); }
  operator Tensor() const { return tensor(); }  // NOLINT: usable wherever a view is
  void* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return tensor().nbytes(); }

  // Synchronous copies from/to host memory of the same size. The forms without a context wait
  // for the whole device before and after (the context streams do not synchronise with the
  // default stream); the forms with one order the copy on its stream and wait for that stream.
  void CopyFromHost(const Tensor& host);
  void CopyToHost(Tensor host) const;
  void CopyFromHost(const Context& ctx, const Tensor& host);
  void CopyToHost(const Context& ctx, Tensor host) const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
};

}  // namespace tigerfg
