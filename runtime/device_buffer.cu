// runtime/device_buffer.cu — DeviceBuffer: cudaMalloc'd memory for one tensor and its host copies.
#include <glog/logging.h>

#include <utility>

#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/device_buffer.h"

namespace tigerfg {
namespace {

void CheckSameSize(const DeviceBuffer& buffer, const Tensor& host, const char* what) {
  CHECK_EQ(buffer.nbytes(), host.nbytes())
      << what << ": device " << buffer.shape().ToString() << " " << DTypeName(buffer.dtype())
      << " vs host " << host.shape().ToString() << " " << DTypeName(host.dtype());
  CHECK(host.device() == Device::kCpu) << what << ": the host tensor is a device tensor";
}

}  // namespace

DeviceBuffer::DeviceBuffer(DType dtype, Shape shape) : dtype_(dtype), shape_(shape) {
  const size_t bytes = nbytes();
  if (bytes == 0) return;
  CUDA_CHECK(cudaMalloc(&data_, bytes));
  CUDA_CHECK(cudaMemset(data_, 0, bytes));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) {
    // Kernels on other streams may still read it.
    cudaDeviceSynchronize();
    cudaFree(data_);
  }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), dtype_(other.dtype_), shape_(other.shape_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    DeviceBuffer old(std::move(*this));
    data_ = std::exchange(other.data_, nullptr);
    dtype_ = other.dtype_;
    shape_ = other.shape_;
  }
  return *this;
}

void DeviceBuffer::CopyFromHost(const Tensor& host) {
  CheckSameSize(*this, host, "DeviceBuffer::CopyFromHost");
  if (nbytes() == 0) return;
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(data_, host.data(), nbytes(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());
}

void DeviceBuffer::CopyToHost(Tensor host) const {
  CheckSameSize(*this, host, "DeviceBuffer::CopyToHost");
  if (nbytes() == 0) return;
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(host.data(), data_, nbytes(), cudaMemcpyDeviceToHost));
}

void DeviceBuffer::CopyFromHost(const Context& ctx, const Tensor& host) {
  CheckSameSize(*this, host, "DeviceBuffer::CopyFromHost");
  CHECK(ctx.is_cuda()) << "DeviceBuffer::CopyFromHost: CPU context";
  if (nbytes() == 0) return;
  cudaStream_t stream = ctx.cuda()->stream;
  CUDA_CHECK(cudaMemcpyAsync(data_, host.data(), nbytes(), cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

void DeviceBuffer::CopyToHost(const Context& ctx, Tensor host) const {
  CheckSameSize(*this, host, "DeviceBuffer::CopyToHost");
  CHECK(ctx.is_cuda()) << "DeviceBuffer::CopyToHost: CPU context";
  if (nbytes() == 0) return;
  cudaStream_t stream = ctx.cuda()->stream;
  CUDA_CHECK(cudaMemcpyAsync(host.data(), data_, nbytes(), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace tigerfg
