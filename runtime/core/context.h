// runtime/core/context.h — where an op runs: the device and, on CUDA, the stream and library
// handles. The CUDA members are opaque here so that CPU-only code never includes CUDA headers.
#pragma once

#include <memory>

#include "runtime/core/tensor.h"

namespace tigerfg {

struct CudaHandles;  // runtime/cuda_context.h: stream, cuBLASLt and cuDNN handles, workspace

class Context {
 public:
  // A CPU context; ops use OpenMP with the process's thread count.
  static Context Cpu() { return Context(Device::kCpu); }
  // A CUDA context on `device_index`; dies with a clear message when no GPU is present.
  // Defined in runtime/cuda_context.cu (only in CUDA builds).
  static Context Cuda(int device_index);

  Device device() const { return device_; }
  bool is_cuda() const { return device_ == Device::kCuda; }
  CudaHandles* cuda() const { return cuda_.get(); }

 private:
  explicit Context(Device device) : device_(device) {}
  Device device_;
  std::shared_ptr<CudaHandles> cuda_;
};

// True when this build has the CUDA backend and a GPU is visible.
bool CudaAvailable();
// The GPUs this process sees (CUDA_VISIBLE_DEVICES applied); 0 without the CUDA backend.
int CudaDeviceCount();

// Lets the fp32 GEMMs of a CUDA context use TF32 tensor cores (a BF16-mode model does while it
// lives; FP32 mode keeps exact fp32). A no-op on a CPU context, where Tf32Allowed is false.
void AllowTf32(const Context& ctx, bool allow);
bool Tf32Allowed(const Context& ctx);

// How the CUDA fused attention (ops/flash_attention.h) loads its mma fragments: through ldmatrix
// (the default) or plain element loads, the simpler path kept to tell a fragment-layout fault from
// others on a new GPU (the kernel tests run both). A no-op on a CPU context, where
// FlashLdmatrixUsed is false.
void UseFlashLdmatrix(const Context& ctx, bool use);
bool FlashLdmatrixUsed(const Context& ctx);

}  // namespace tigerfg
