// runtime/core/cuda_context.h — what a CUDA Context holds: the device, the compute stream, the
// cuBLASLt handle and its workspace. Included only by CUDA code.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace tigerfg {

struct CudaHandles {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;  // cuBLASLt workspace
  size_t workspace_bytes = 0;
  cudaDeviceProp props{};
  // fp32 GEMMs may use TF32 tensor cores: set by the BF16 precision mode (FP32 mode is exact fp32).
  bool allow_tf32 = false;
  // The fused attention's mma fragments through ldmatrix; false: element loads (UseFlashLdmatrix).
  bool flash_ldmatrix = true;
  ~CudaHandles();
};

}  // namespace tigerfg
