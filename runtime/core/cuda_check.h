// runtime/core/cuda_check.h — one macro per library that checks a call's status and dies naming the
// call, the file and the line (CUDA runtime, cuBLAS/cuBLASLt, cuDNN).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <glog/logging.h>

#define CUDA_CHECK(call)                                                        \
  do {                                                                          \
    cudaError_t _e = (call);                                                    \
    CHECK(_e == cudaSuccess) << #call << " failed: " << cudaGetErrorString(_e); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                   \
  do {                                                                                       \
    cublasStatus_t _s = (call);                                                              \
    CHECK(_s == CUBLAS_STATUS_SUCCESS) << #call << " failed: " << cublasGetStatusString(_s); \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, not at the next call.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
