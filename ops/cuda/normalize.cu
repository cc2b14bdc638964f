// ops/cuda/normalize.cu — F.normalize(x, dim=-1) on CUDA: one block per row, sums in double.
#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

constexpr float kNormEps = 1e-12f;  // F.normalize's default eps

__global__ void L2NormalizeForwardKernel(float* out, float* norm, const float* x, int64_t D) {
  __shared__ double shared[32];
  const float* xr = x + blockIdx.x * D;
  float* yr = out + blockIdx.x * D;
  double sq = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) sq += static_cast<double>(xr[d]) * xr[d];
  const float length = static_cast<float>(sqrt(BlockSum(sq, shared)));
  if (threadIdx.x == 0) norm[blockIdx.x] = length;
  const float inv = 1.0f / fmaxf(length, kNormEps);
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) yr[d] = xr[d] * inv;
}

// Above eps: dx = (dout - out (dout · out)) / ||x||; at or below it dx = dout / eps.
__global__ void L2NormalizeBackwardKernel(float* dx, const float* dout, const float* out,
                                          const float* norm, int64_t D) {
  __shared__ double shared[32];
  const float* yr = out + blockIdx.x * D;
  const float* dr = dout + blockIdx.x * D;
  float* dxr = dx + blockIdx.x * D;
  double dot = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) dot += static_cast<double>(dr[d]) * yr[d];
  dot = BlockSum(dot, shared);
  const float n = norm[blockIdx.x];
  const float proj = n > kNormEps ? static_cast<float>(dot) : 0.0f;
  const float inv = 1.0f / fmaxf(n, kNormEps);
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) dxr[d] = (dr[d] - yr[d] * proj) * inv;
}

}  // namespace

void L2NormalizeForward(const Context& ctx, Tensor out, Tensor norm, const Tensor& x) {
  const int64_t D = x.dim(-1), N = RowCount(x, D);  // shapes checked by ops/normalize.cc
  if (N == 0) return;
  L2NormalizeForwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
      out.f32(), norm.f32(), x.f32(), D);
  CUDA_CHECK_LAUNCH();
}

void L2NormalizeBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out,
                         const Tensor& norm) {
  const int64_t D = out.dim(-1), N = RowCount(out, D);  // shapes checked by ops/normalize.cc
  if (N == 0) return;
  L2NormalizeBackwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
      dx.f32(), dout.f32(), out.f32(), norm.f32(), D);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
