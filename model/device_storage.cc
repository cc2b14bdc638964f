// model/device_storage.cc — DeviceStorage and the host copies; the CUDA calls are compiled only
// in CUDA builds (TIGERFG_WITH_CUDA), a CPU build dies on a CUDA context instead.
#include "model/device_storage.h"

#include <glog/logging.h>

#include <cstring>

#ifdef TIGERFG_WITH_CUDA
#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/device_buffer.h"
#endif

namespace tigerfg::model {

namespace {

void CheckSameBytes(const Tensor& host, const Tensor& dev, const char* what) {
  CHECK_EQ(host.nbytes(), dev.nbytes())
      << what << ": host " << host.shape().ToString() << " " << DTypeName(host.dtype())
      << " vs device " << dev.shape().ToString() << " " << DTypeName(dev.dtype());
}

#ifdef TIGERFG_WITH_CUDA
void CudaCopy(const Context& ctx, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  CHECK(ctx.cuda() != nullptr) << "CUDA context without handles";
  cudaStream_t stream = ctx.cuda()->stream;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}
#endif

}  // namespace

DeviceStorage::DeviceStorage(const Context& ctx, DType dtype, Shape shape) {
  if (!ctx.is_cuda()) {
    auto host = std::make_shared<Buffer>(dtype, shape);
    view_ = host->tensor();
    owner_ = std::move(host);
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  auto dev = std::make_shared<DeviceBuffer>(dtype, shape);
  // DeviceBuffer zero-fills on the legacy stream, which a non-blocking context stream does not
  // wait for.
  CUDA_CHECK(cudaDeviceSynchronize());
  view_ = dev->tensor();
  owner_ = std::move(dev);
#else
  LOG(FATAL) << "device memory requested, but this tigerfg was built without the CUDA backend";
#endif
}

void CopyToHost(const Context& ctx, Tensor host, const Tensor& src) {
  CheckSameBytes(host, src, "CopyToHost");
  CHECK(host.device() == Device::kCpu) << "CopyToHost: the destination is a device tensor";
  if (host.nbytes() == 0) return;
  if (!ctx.is_cuda()) {
    std::memcpy(host.data(), src.data(), host.nbytes());
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  CudaCopy(ctx, host.data(), src.data(), host.nbytes(), cudaMemcpyDeviceToHost);
#else
  LOG(FATAL) << "CopyToHost on a CUDA context without the CUDA backend";
#endif
}

void CopyFromHost(const Context& ctx, Tensor dst, const Tensor& host) {
  CheckSameBytes(host, dst, "CopyFromHost");
  CHECK(host.device() == Device::kCpu) << "CopyFromHost: the source is a device tensor";
  if (host.nbytes() == 0) return;
  if (!ctx.is_cuda()) {
    std::memcpy(dst.data(), host.data(), host.nbytes());
    return;
  }
#ifdef TIGERFG_WITH_CUDA
  CudaCopy(ctx, dst.data(), host.data(), host.nbytes(), cudaMemcpyHostToDevice);
#else
  LOG(FATAL) << "CopyFromHost on a CUDA context without the CUDA backend";
#endif
}

Buffer ToHost(const Context& ctx, const Tensor& src) {
  Buffer host(src.dtype(), src.shape());
  CopyToHost(ctx, host.tensor(), src);
  return host;
}

}  // namespace tigerfg::model
