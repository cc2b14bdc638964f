// ops/cuda/embedding.cu — nn.Embedding on CUDA: row gather forward, atomic scatter-add backward.
#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

// An id outside [0, V) is a broken invariant (the data pipeline validates ids): the kernel traps,
// which the next CUDA_CHECK reports.
__device__ inline void CheckId(int64_t id, int64_t V) {
  if (id < 0 || id >= V) __trap();
}

__global__ void EmbeddingForwardKernel(float* out, const int64_t* ids, const float* table,
                                       int64_t T, int64_t V, int64_t D) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < T * D;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t id = ids[idx / D];
    CheckId(id, V);
    out[idx] = table[id * D + idx % D];
  }
}

// Repeated ids add into the same row: atomics (the order of the additions varies, within float
// rounding of the CPU twin).
__global__ void EmbeddingBackwardKernel(float* dtable, const int64_t* ids, const float* dout,
                                        int64_t T, int64_t V, int64_t D) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < T * D;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t id = ids[idx / D];
    CheckId(id, V);
    atomicAdd(dtable + id * D + idx % D, dout[idx]);
  }
}

}  // namespace

void EmbeddingForward(const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table) {
  const int64_t V = table.dim(0), D = table.dim(1), T = ids.numel();  // shapes checked on entry
  if (T * D == 0) return;
  EmbeddingForwardKernel<<<GridFor(T * D), kThreads, 0, Stream(ctx)>>>(out.f32(), ids.i64(),
                                                                       table.f32(), T, V, D);
  CUDA_CHECK_LAUNCH();
}

void EmbeddingBackward(const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids) {
  const int64_t V = dtable.dim(0), D = dtable.dim(1), T = ids.numel();  // shapes checked on entry
  if (T * D == 0) return;
  EmbeddingBackwardKernel<<<GridFor(T * D), kThreads, 0, Stream(ctx)>>>(dtable.f32(), ids.i64(),
                                                                        dout.f32(), T, V, D);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
