// ops/cuda/optim.cu — AdamW over flat buffers and the sum of squares (gradient norm) on CUDA.
#include <cmath>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

constexpr int kSumBlocks = 1024;  // partial sums of SumOfSquares, added up by one block

__global__ void AdamWKernel(float* p, float* m, float* v, const float* g, int64_t n, float b1,
                            float b2, float eps, float scale, float step_size, float inv_sqrt_bc2,
                            float decay) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

__global__ void SquaresPartialKernel(double* partial, const float* x, int64_t n) {
  __shared__ double shared[32];
  double acc = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    acc += static_cast<double>(x[i]) * x[i];
  }
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void SumPartialsKernel(double* total, const double* partial, int count) {
  __shared__ double shared[32];
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) *total = acc;
}

}  // namespace

void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& h) {
  const int64_t n = params.numel();  // sizes checked by ops/optim.cc
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - h.lr * h.weight_decay;
  AdamWKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(params.f32(), m.f32(), v.f32(), grads.f32(),
                                                        n, h.beta1, h.beta2, h.eps, h.grad_scale,
                                                        step_size, inv_sqrt_bc2, decay);
  CUDA_CHECK_LAUNCH();
}

double SumOfSquares(const Context& ctx, const Tensor& x) {
  const int64_t n = x.numel();
  if (n == 0) return 0.0;
  const int blocks = static_cast<int>(std::min<int64_t>(GridFor(n), kSumBlocks));
  Scratch partial(ctx, (blocks + 1) * sizeof(double));
  SquaresPartialKernel<<<blocks, kThreads, 0, Stream(ctx)>>>(partial.f64(), x.f32(), n);
  CUDA_CHECK_LAUNCH();
  SumPartialsKernel<<<1, kThreads, 0, Stream(ctx)>>>(partial.f64() + blocks, partial.f64(), blocks);
  CUDA_CHECK_LAUNCH();
  double total = 0;
  CUDA_CHECK(cudaMemcpyAsync(&total, partial.f64() + blocks, sizeof(double), cudaMemcpyDeviceToHost,
                             Stream(ctx)));
  CUDA_CHECK(cudaStreamSynchronize(Stream(ctx)));
  return total;
}

}  // namespace tigerfg::ops::cuda
