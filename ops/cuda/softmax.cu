// ops/cuda/softmax.cu — softmax and log-softmax over the last dimension on CUDA: one block per
// row, max-shifted, sums in double (as the CPU twin).
#include <cmath>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

__device__ float RowMax(const float* x, int64_t C, float* shared) {
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = fmaxf(m, x[c]);
  return BlockMax(m, shared);
}

__global__ void SoftmaxForwardKernel(float* out, const float* x, int64_t C) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const float* xr = x + blockIdx.x * C;
  float* yr = out + blockIdx.x * C;
  const float m = RowMax(xr, C, shared_max);
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float e = expf(xr[c] - m);
    yr[c] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / BlockSum(sum, shared));
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] *= inv;
}

__global__ void SoftmaxBackwardKernel(float* dx, const float* dout, const float* out, int64_t C) {
  __shared__ double shared[32];
  const float* dr = dout + blockIdx.x * C;
  const float* yr = out + blockIdx.x * C;
  float* dxr = dx + blockIdx.x * C;
  double dot = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dot += static_cast<double>(dr[c]) * yr[c];
  const float s = static_cast<float>(BlockSum(dot, shared));
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = yr[c] * (dr[c] - s);
}

__global__ void LogSoftmaxForwardKernel(float* out, const float* x, int64_t C) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const float* xr = x + blockIdx.x * C;
  float* yr = out + blockIdx.x * C;
  const float m = RowMax(xr, C, shared_max);
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += expf(xr[c] - m);
  const float shift = m + static_cast<float>(log(BlockSum(sum, shared)));
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = xr[c] - shift;
}

__global__ void LogSoftmaxBackwardKernel(float* dx, const float* dout, const float* out,
                                         int64_t C) {
  __shared__ double shared[32];
  const float* dr = dout + blockIdx.x * C;
  const float* yr = out + blockIdx.x * C;
  float* dxr = dx + blockIdx.x * C;
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += dr[c];
  const float s = static_cast<float>(BlockSum(sum, shared));
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) dxr[c] = dr[c] - expf(yr[c]) * s;
}

// Rows and columns of a [..., C] tensor (shapes checked by ops/softmax.cc).
int64_t RowsCols(const Tensor& a, int64_t* cols) {
  *cols = a.dim(-1);
  return *cols == 0 ? 0 : a.numel() / *cols;
}

}  // namespace

void SoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  int64_t C;
  const int64_t N = RowsCols(x, &C);
  if (N == 0) return;
  SoftmaxForwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(out.f32(), x.f32(),
                                                                               C);
  CUDA_CHECK_LAUNCH();
}

void SoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  int64_t C;
  const int64_t N = RowsCols(out, &C);
  if (N == 0) return;
  SoftmaxBackwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
      dx.f32(), dout.f32(), out.f32(), C);
  CUDA_CHECK_LAUNCH();
}

void LogSoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  int64_t C;
  const int64_t N = RowsCols(x, &C);
  if (N == 0) return;
  LogSoftmaxForwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(out.f32(),
                                                                                  x.f32(), C);
  CUDA_CHECK_LAUNCH();
}

void LogSoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  int64_t C;
  const int64_t N = RowsCols(out, &C);
  if (N == 0) return;
  LogSoftmaxBackwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
      dx.f32(), dout.f32(), out.f32(), C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
