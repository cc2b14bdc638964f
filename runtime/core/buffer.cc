// runtime/core/buffer.cc — Buffer's memory on either device and the host copies; the CUDA calls
// are compiled only in CUDA builds (TIGERFG_WITH_CUDA), a CPU build dies on a CUDA context instead.
#include "runtime/core/buffer.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#ifdef TIGERFG_WITH_CUDA
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"
#endif

namespace tigerfg {

namespace {

void CheckSameBytes(const Tensor& host, const Tensor& dev, const char* what) {
  CHECK_EQ(host.nbytes(), dev.nbytes())
      << what << ": host " << host.shape().ToString() << " " << DTypeName(host.dtype())
      << " vs device " << dev.shape().ToString() << " " << DTypeName(dev.dtype());
}

std::atomic<int64_t> host_waits{0};

enum class Direction { kToHost, kFromHost };

// The one copy between host memory and ctx's device: checked, a memcpy on the CPU; on CUDA
// ordered on ctx's stream and, when `wait`, finished (and counted) before returning. `what` names
// the caller in failures.
void HostCopy(const Context& ctx, const Tensor& host, const Tensor& dev, Direction direction,
              bool wait, const char* what) {
  CheckSameBytes(host, dev, what);
  const bool to_host = direction == Direction::kToHost;
  CHECK(host.device() == Device::kCpu)
      << what << ": the " << (to_host ? "destination" : "source") << " is a device tensor";
  if (host.nbytes() == 0) return;
  void* dst = to_host ? host.data() : dev.data();
  const void* src = to_host ? dev.data() : host.data();
  if (!ctx.is_cuda()) {
    std::memcpy(dst, src, host.nbytes());
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  CHECK(ctx.cuda() != nullptr) << "CUDA context without handles";
  cudaStream_t stream = ctx.cuda()->stream;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, host.nbytes(),
                             to_host ? cudaMemcpyDeviceToHost : cudaMemcpyHostToDevice, stream));
  if (!wait) return;  // pinned host memory: the copy runs in stream order
  host_waits.fetch_add(1, std::memory_order_relaxed);
  CUDA_CHECK(cudaStreamSynchronize(stream));
#else
  (void)wait;
  LOG(FATAL) << what << " on a CUDA context without the CUDA backend";
#endif
}

// The element count fits int64 (Shape checks it); the byte size, rounded up to 64, must too, or
// the allocation would wrap to a few bytes that the caller then writes past.
size_t CheckedBufferBytes(DType dtype, const Shape& shape) {
  int64_t bytes = 0;
  CHECK(CheckedByteSize(shape.dims(), DTypeSize(dtype), &bytes) && bytes <= INT64_MAX - 63)
      << "Buffer " << shape.ToString() << " " << DTypeName(dtype)
      << ": the byte size overflows int64";
  return static_cast<size_t>(bytes);
}

}  // namespace

void Buffer::Free::operator()(void* p) const {
  if (pinned) {
#ifdef TIGERFG_WITH_CUDA
    cudaDeviceSynchronize();  // a copy on any stream may still use it
    cudaFreeHost(p);
#endif
    return;
  }
  if (device == Device::kCpu) {
    std::free(p);
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  // Kernels on any stream may still read it.
  cudaDeviceSynchronize();
  cudaFree(p);
#endif
}

Buffer::Buffer(DType dtype, Shape shape) : dtype_(dtype), shape_(shape) {
  const size_t bytes = CheckedBufferBytes(dtype, shape);
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  CHECK(p != nullptr) << "out of host memory allocating " << rounded << " bytes";
  std::memset(p, 0, rounded);
  storage_.reset(p);
}

Buffer::Buffer(const Context& ctx, DType dtype, Shape shape) {
  if (!ctx.is_cuda()) {
    *this = Buffer(dtype, shape);
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  dtype_ = dtype;
  shape_ = shape;
  device_ = Device::kCuda;
  storage_ = std::unique_ptr<void, Free>(nullptr, Free{Device::kCuda});
  const size_t bytes = CheckedBufferBytes(dtype, shape);
  if (bytes == 0) return;
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  storage_.reset(p);
  // Zero-filled on the legacy stream and finished here: a non-blocking context stream does not
  // wait for the legacy one.
  CUDA_CHECK(cudaMemset(p, 0, bytes));
  CUDA_CHECK(cudaDeviceSynchronize());
#else
  LOG(FATAL) << "device memory requested, but this tigerfg was built without the CUDA backend";
#endif
}

Buffer Buffer::Pinned(const Context& ctx, DType dtype, Shape shape) {
  if (!ctx.is_cuda()) return Buffer(dtype, shape);
  Buffer b;
#ifdef TIGERFG_WITH_CUDA
  b.dtype_ = dtype;
  b.shape_ = shape;
  const size_t bytes = std::max<size_t>(CheckedBufferBytes(dtype, shape), 1);
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
  std::memset(p, 0, bytes);
  b.storage_ = std::unique_ptr<void, Free>(p, Free{Device::kCpu, /*pinned=*/true});
#else
  LOG(FATAL) << "pinned memory requested, but this tigerfg was built without the CUDA backend";
#endif
  return b;
}

void CopyToHost(const Context& ctx, Tensor host, const Tensor& src) {
  HostCopy(ctx, host, src, Direction::kToHost, /*wait=*/true, "CopyToHost");
}

void CopyFromHost(const Context& ctx, Tensor dst, const Tensor& host) {
  HostCopy(ctx, host, dst, Direction::kFromHost, /*wait=*/true, "CopyFromHost");
}

void CopyToHostAsync(const Context& ctx, Tensor host, const Tensor& src) {
  HostCopy(ctx, host, src, Direction::kToHost, /*wait=*/false, "CopyToHostAsync");
}

void CopyFromHostAsync(const Context& ctx, Tensor dst, const Tensor& host) {
  HostCopy(ctx, host, dst, Direction::kFromHost, /*wait=*/false, "CopyFromHostAsync");
}

Buffer ToHost(const Context& ctx, const Tensor& src) {
  Buffer host(src.dtype(), src.shape());
  CopyToHost(ctx, host.tensor(), src);
  return host;
}

Buffer ToDevice(const Context& ctx, const Tensor& host) {
  Buffer dev(ctx, host.dtype(), host.shape());
  CopyFromHost(ctx, dev.tensor(), host);
  return dev;
}

int64_t HostWaits() { return host_waits.load(std::memory_order_relaxed); }
void CountHostWait() { host_waits.fetch_add(1, std::memory_order_relaxed); }

}  // namespace tigerfg
