// ops/cuda/optim.cu — AdamW over flat buffers and the sum of squares (gradient norm) on CUDA.
#include <cmath>

#include "ops/backend.h"
#include "ops/cuda/bf16.cuh"
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

// One block per (tensor, chunk) work item of the table (ops/optim.h); blocks past the last item
// (the grid is an upper bound: the host does not read the table) return at once. The clip factor
// comes from the device-side Σg² (sumsq, a double; null: `scale` as given).
__global__ void AdamWMultiKernel(float* p, float* m, float* v, uint16_t* p16, const float* g,
                                 const int64_t* table, int64_t count, const double* sumsq,
                                 const float* skip, float clip, float b1, float b2, float eps,
                                 float scale, float step_size, float inv_sqrt_bc2, float decay_on) {
  // A failed step (skip != 0) or non-finite gradients: the update is a no-op, decided here.
  if (skip != nullptr && *skip != 0) return;
  if (sumsq != nullptr && !isfinite(*sumsq)) return;
  const int64_t* last = table + (count - 1) * kAdamWTableCols;
  const int64_t chunk = blockIdx.x;
  if (chunk >= last[3] + (last[1] + kAdamWChunk - 1) / kAdamWChunk) return;
  const int64_t* row = table + AdamWRowOfChunk(table, count, chunk) * kAdamWTableCols;
  const int64_t begin = row[0] + (chunk - row[3]) * kAdamWChunk;
  const int64_t end = min(row[0] + row[1], begin + kAdamWChunk);
  const float decay = row[2] != 0 ? decay_on : 1.0f;
  if (sumsq != nullptr && clip > 0) {
    const double norm = sqrt(*sumsq);
    // torch.nn.utils.clip_grad_norm_'s factor
    scale = norm > clip ? static_cast<float>(clip / (norm + 1e-6)) : 1.0f;
  }
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float pi = p[i] * decay - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    p[i] = pi;
    if (p16 != nullptr) p16[i] = FromFloat<uint16_t>(pi);
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

void AdamWMultiUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, Tensor params16,
                      const Tensor& grads, const Tensor& table, const Tensor& grad_sumsq,
                      const AdamWHyper& h) {
  const int64_t count = table.dim(0);  // sizes checked by ops/optim.cc
  if (count == 0) return;
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay_on = 1.0f - h.lr * h.weight_decay;
  // Σ ceil(numel / chunk) <= n / chunk + count: the rows lie within the buffers.
  const int64_t blocks = params.numel() / kAdamWChunk + count + 1;
  CHECK(blocks < (int64_t{1} << 31)) << "AdamWMultiUpdate: too many work items";
  uint16_t* p16 = params16.defined() ? params16.bf16() : nullptr;
  const double* sumsq =
      grad_sumsq.defined() ? static_cast<const double*>(grad_sumsq.data()) : nullptr;
  AdamWMultiKernel<<<static_cast<unsigned>(blocks), kThreads, 0, Stream(ctx)>>>(
      params.f32(), m.f32(), v.f32(), p16, grads.f32(), table.i64(), count, sumsq, h.skip,
      h.clip_grad_norm, h.beta1, h.beta2, h.eps, h.grad_scale, step_size, inv_sqrt_bc2, decay_on);
  CUDA_CHECK_LAUNCH();
}

void SumOfSquaresInto(const Context& ctx, Tensor out, const Tensor& x) {
  const int64_t n = x.numel();
  double* total = static_cast<double*>(out.data());
  if (n == 0) {
    CUDA_CHECK(cudaMemsetAsync(total, 0, sizeof(double), Stream(ctx)));
    return;
  }
  const int blocks = static_cast<int>(std::min<int64_t>(GridFor(n), kSumBlocks));
  Scratch partial(ctx, blocks * sizeof(double));
  SquaresPartialKernel<<<blocks, kThreads, 0, Stream(ctx)>>>(partial.f64(), x.f32(), n);
  CUDA_CHECK_LAUNCH();
  SumPartialsKernel<<<1, kThreads, 0, Stream(ctx)>>>(total, partial.f64(), blocks);
  CUDA_CHECK_LAUNCH();
}

double SumOfSquares(const Context& ctx, const Tensor& x) {
  if (x.numel() == 0) return 0.0;
  Scratch total(ctx, sizeof(double));
  SumOfSquaresInto(ctx, Tensor(total.f64(), DType::kI64, Shape{1}, Device::kCuda), x);
  double value = 0;
  CUDA_CHECK(
      cudaMemcpyAsync(&value, total.f64(), sizeof(double), cudaMemcpyDeviceToHost, Stream(ctx)));
  CUDA_CHECK(cudaStreamSynchronize(Stream(ctx)));
  return value;
}

}  // namespace tigerfg::ops::cuda
