// ops/cuda/layernorm.cu — LayerNorm over the last dimension on CUDA: one block per row with row
// statistics in double (as the CPU twin), dgamma/dbeta as deterministic column sums. Kernels are
// templated on the activation element type (float, or uint16_t holding a bf16).
#include "ops/backend.h"
#include "ops/cuda/bf16.cuh"
#include "ops/cuda/common.cuh"
#include "runtime/core/bf16.h"

namespace tigerfg::ops::cuda {
namespace {

template <typename OutT>
__global__ void LayerNormForwardKernel(OutT* out, float* mean, float* rstd, const float* x,
                                       const float* gamma, const float* beta, int64_t C,
                                       float eps) {
  __shared__ double shared[32];
  const float* xr = x + blockIdx.x * C;
  OutT* yr = out + blockIdx.x * C;
  double sum = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) sum += xr[c];
  const double mu = BlockSum(sum, shared) / C;
  double sq = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const double d = xr[c] - mu;
    sq += d * d;
  }
  sq = BlockSum(sq, shared);
  const float m = static_cast<float>(mu);
  const float r = static_cast<float>(1.0 / sqrt(sq / C + eps));
  if (threadIdx.x == 0) {
    mean[blockIdx.x] = m;
    rstd[blockIdx.x] = r;
  }
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
    yr[c] = FromFloat<OutT>((xr[c] - m) * r * gamma[c] + beta[c]);
}

// dx = r · (g - mean(g) - xhat · mean(g · xhat)), g = dout ⊙ gamma; one block per row.
template <typename DxT, typename DoutT>
__global__ void LayerNormBackwardKernel(DxT* dx, const DoutT* dout, const float* x,
                                        const float* gamma, const float* mean, const float* rstd,
                                        int64_t C, bool accumulate) {
  __shared__ double shared[32];
  const int64_t n = blockIdx.x;
  const float* xr = x + n * C;
  const DoutT* dr = dout + n * C;
  DxT* dxr = dx + n * C;
  const float m = mean[n], r = rstd[n];
  double sum_g = 0, sum_gx = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float xhat = (xr[c] - m) * r;
    const float g = ToFloat(dr[c]) * gamma[c];
    sum_g += g;
    sum_gx += g * xhat;
  }
  const float a = static_cast<float>(BlockSum(sum_g, shared) / C);
  const float b = static_cast<float>(BlockSum(sum_gx, shared) / C);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const float xhat = (xr[c] - m) * r;
    const float v = r * (ToFloat(dr[c]) * gamma[c] - a - xhat * b);
    dxr[c] = FromFloat<DxT>(accumulate ? ToFloat(dxr[c]) + v : v);
  }
}

template <typename DoutT>
struct DoutTimesXhat {
  const DoutT* dout;
  const float *x, *mean, *rstd;
  int64_t C;
  __device__ double operator()(int64_t n, int64_t c) const {
    const float xhat = (x[n * C + c] - mean[n]) * rstd[n];
    return ToFloat(dout[n * C + c]) * xhat;
  }
};

template <typename DoutT>
struct Dout {
  const DoutT* dout;
  int64_t C;
  __device__ double operator()(int64_t n, int64_t c) const { return ToFloat(dout[n * C + c]); }
};

}  // namespace

void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps) {
  // Arguments were checked by the public entry point (ops/layernorm.cc).
  const int64_t C = gamma.dim(0), N = C == 0 ? 0 : x.numel() / C;
  if (N == 0) return;
  VisitFloatDType(out.dtype(), "layernorm", "out", [&](auto out_type) {
    LayerNormForwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
        ElementsOf<decltype(out_type)>(out), mean.f32(), rstd.f32(), x.f32(), gamma.f32(),
        beta.f32(), C, eps);
    CUDA_CHECK_LAUNCH();
  });
}

void LayerNormBackward(const Context& ctx, Tensor dx, Tensor dgamma, Tensor dbeta,
                       const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, bool accumulate_dx) {
  const int64_t C = gamma.dim(0), N = C == 0 ? 0 : x.numel() / C;  // checked on entry
  if (N == 0 || C == 0) return;
  VisitFloatDType(dout.dtype(), "layernorm", "dout", [&](auto dout_type) {
    using DoutT = decltype(dout_type);
    const DoutT* pd = ElementsOf<DoutT>(dout);
    VisitFloatDType(dx.dtype(), "layernorm", "dx", [&](auto dx_type) {
      LayerNormBackwardKernel<<<static_cast<unsigned>(N), kThreads, 0, Stream(ctx)>>>(
          ElementsOf<decltype(dx_type)>(dx), pd, x.f32(), gamma.f32(), mean.f32(), rstd.f32(), C,
          accumulate_dx);
      CUDA_CHECK_LAUNCH();
    });
    AccumulateColumnSums(ctx, DoutTimesXhat<DoutT>{pd, x.f32(), mean.f32(), rstd.f32(), C}, N, C,
                         dgamma.f32());
    AccumulateColumnSums(ctx, Dout<DoutT>{pd, C}, N, C, dbeta.f32());
  });
}

}  // namespace tigerfg::ops::cuda
