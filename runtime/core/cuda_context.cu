// runtime/core/cuda_context.cu — CUDA contexts: device selection, stream, cuBLASLt handle,
// workspace.
#include <glog/logging.h>

#include <cstdint>

#include "runtime/core/context.h"
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"

namespace tigerfg {

namespace {
constexpr size_t kLtWorkspaceBytes = 32u << 20;  // cuBLASLt's recommendation for Hopper
}

CudaHandles::~CudaHandles() {
  if (workspace) cudaFree(workspace);
  if (lt) cublasLtDestroy(lt);
  if (stream) cudaStreamDestroy(stream);
}

bool CudaAvailable() { return CudaDeviceCount() > 0; }

int CudaDeviceCount() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

void AllowTf32(const Context& ctx, bool allow) {
  if (ctx.is_cuda()) ctx.cuda()->allow_tf32 = allow;
}

bool Tf32Allowed(const Context& ctx) { return ctx.is_cuda() && ctx.cuda()->allow_tf32; }

void UseFlashLdmatrix(const Context& ctx, bool use) {
  if (ctx.is_cuda()) ctx.cuda()->flash_ldmatrix = use;
}

bool FlashLdmatrixUsed(const Context& ctx) { return ctx.is_cuda() && ctx.cuda()->flash_ldmatrix; }

Context Context::Cuda(int device_index) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  CHECK(e == cudaSuccess && count > 0)
      << "CUDA device " << device_index << " requested but no GPU is visible ("
      << cudaGetErrorString(e) << ")";
  CHECK(device_index >= 0 && device_index < count)
      << "CUDA device " << device_index << " requested; " << count << " visible";
  Context ctx(Device::kCuda);
  auto handles = std::make_shared<CudaHandles>();
  handles->device = device_index;
  CUDA_CHECK(cudaSetDevice(device_index));
  CUDA_CHECK(cudaGetDeviceProperties(&handles->props, device_index));
  CUDA_CHECK(cudaStreamCreateWithFlags(&handles->stream, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasLtCreate(&handles->lt));
  CUDA_CHECK(cudaMalloc(&handles->workspace, kLtWorkspaceBytes));
  handles->workspace_bytes = kLtWorkspaceBytes;
  // Ops take short-lived scratch from the stream-ordered pool (cudaMallocAsync). By default the
  // pool returns its memory to the driver at every synchronisation, so each training step would
  // allocate afresh; keeping it makes every step after the first allocation-free.
  cudaMemPool_t pool = nullptr;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device_index));
  uint64_t keep = UINT64_MAX;
  CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  ctx.cuda_ = std::move(handles);
  return ctx;
}

}  // namespace tigerfg
