// ops/cuda/layernorm.cu — LayerNorm over the last dimension on CUDA. Two paths: one warp per row
// with the row in registers, fp32 statistics and dgamma/dbeta summed in the same pass (per-warp
// partials, then a fixed-order reduction: no atomics), for bf16 activations and C <= 1024; and
// one block per row with statistics in double (as the CPU twin) and dgamma/dbeta as separate
// column sums, for F32 activations (the FP32 mode's verified path; ops/cuda/paths.h switches the
// warp path on for them too) and wider rows. Kernels are templated on the activation element
// type (float, or uint16_t holding a bf16).
#include <algorithm>
#include <type_traits>

#include "ops/backend.h"
#include "ops/cuda/bf16.cuh"
#include "ops/cuda/common.cuh"
#include "ops/cuda/paths.h"
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

// ---- the warp-per-row path: lane l holds columns l, l + 32, ... (kPerLane of them, C <= 32 ·
// kPerLane), so each row is read once.

constexpr int kWarpsPerBlock = kThreads / 32;
constexpr int64_t kMaxWarpRowC = 1024;       // the widest row the warp path takes (kPerLane 32)
constexpr int64_t kMaxBackwardWarps = 2048;  // dgamma/dbeta partials: [warps, 2, C] F32

__device__ __forceinline__ float WarpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <int kPerLane, typename OutT>
__global__ void LayerNormForwardWarpKernel(OutT* out, float* mean, float* rstd, const float* x,
                                           const float* gamma, const float* beta, int64_t N,
                                           int64_t C, float eps) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + (threadIdx.x >> 5);
  if (row >= N) return;  // the whole warp leaves together
  const float* xr = x + row * C;
  float v[kPerLane];
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t c = lane + 32 * k;
    v[k] = c < C ? xr[c] : 0.0f;
    sum += v[k];
  }
  const float m = WarpSum(sum) / static_cast<float>(C);
  float sq = 0.0f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const float d = lane + 32 * k < C ? v[k] - m : 0.0f;
    sq = fmaf(d, d, sq);
  }
  const float r = 1.0f / sqrtf(WarpSum(sq) / static_cast<float>(C) + eps);
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
  OutT* yr = out + row * C;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t c = lane + 32 * k;
    if (c < C) yr[c] = FromFloat<OutT>((v[k] - m) * r * gamma[c] + beta[c]);
  }
}

// Warp w of the grid takes rows w, w + W, ... (W warps in all): dx as the block kernel (and,
// with dx16, dx's final value rounded to bf16), and its rows' Σ dout·xhat and Σ dout into
// partial[w, 0, :] and partial[w, 1, :].
template <int kPerLane, typename DxT, typename DoutT>
__global__ void LayerNormBackwardWarpKernel(DxT* dx, uint16_t* dx16, float* partial,
                                            const DoutT* dout, const float* x, const float* gamma,
                                            const float* mean, const float* rstd, int64_t N,
                                            int64_t C, bool accumulate) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  float g_acc[kPerLane], b_acc[kPerLane], gam[kPerLane];
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t c = lane + 32 * k;
    g_acc[k] = 0.0f;
    b_acc[k] = 0.0f;
    gam[k] = c < C ? gamma[c] : 0.0f;
  }
  for (int64_t row = warp; row < N; row += warps) {
    const float m = mean[row], r = rstd[row];
    float xhat[kPerLane], d[kPerLane];
    float sum_g = 0.0f, sum_gx = 0.0f;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int64_t c = lane + 32 * k;
      const bool in = c < C;
      xhat[k] = in ? (x[row * C + c] - m) * r : 0.0f;
      d[k] = in ? ToFloat(dout[row * C + c]) : 0.0f;
      const float g = d[k] * gam[k];
      sum_g += g;
      sum_gx = fmaf(g, xhat[k], sum_gx);
      g_acc[k] = fmaf(d[k], xhat[k], g_acc[k]);
      b_acc[k] += d[k];
    }
    const float a = WarpSum(sum_g) / static_cast<float>(C);
    const float b = WarpSum(sum_gx) / static_cast<float>(C);
    DxT* dxr = dx + row * C;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int64_t c = lane + 32 * k;
      if (c < C) {
        const float v = r * (d[k] * gam[k] - a - xhat[k] * b);
        const DxT stored = FromFloat<DxT>(accumulate ? ToFloat(dxr[c]) + v : v);
        dxr[c] = stored;
        if (dx16 != nullptr) dx16[row * C + c] = FromFloat<uint16_t>(ToFloat(stored));
      }
    }
  }
  // Every warp writes its partial (zeros when it had no row): the finish reads them all.
  float* pg = partial + warp * 2 * C;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t c = lane + 32 * k;
    if (c < C) {
      pg[c] = g_acc[k];
      pg[C + c] = b_acc[k];
    }
  }
}

// dgamma[c] += Σ_w partial[w, 0, c], dbeta[c] += Σ_w partial[w, 1, c]: warps in order, in double.
__global__ void LayerNormPartialsFinishKernel(const float* partial, int64_t warps, int64_t C,
                                              float* dgamma, float* dbeta) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < 2 * C;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double total = 0;
    for (int64_t w = 0; w < warps; ++w) total += partial[w * 2 * C + j];
    float* dst = j < C ? dgamma + j : dbeta + (j - C);
    *dst += static_cast<float>(total);
  }
}

// Calls f(std::integral_constant<int, kPerLane>) with the smallest instantiated kPerLane that
// covers C (C <= kMaxWarpRowC).
template <typename F>
void VisitPerLane(int64_t C, F f) {
  const int64_t need = (C + 31) / 32;
  if (need <= 1) return f(std::integral_constant<int, 1>{});
  if (need <= 2) return f(std::integral_constant<int, 2>{});
  if (need <= 4) return f(std::integral_constant<int, 4>{});
  if (need <= 8) return f(std::integral_constant<int, 8>{});
  if (need <= 16) return f(std::integral_constant<int, 16>{});
  if (need <= 24) return f(std::integral_constant<int, 24>{});
  return f(std::integral_constant<int, 32>{});
}

bool UseWarpPath(DType activations, int64_t C) {
  return C <= kMaxWarpRowC &&
         (activations == DType::kBF16 || Paths().warp_layernorm_for_f32.load());
}

void ForwardWarp(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                 const Tensor& gamma, const Tensor& beta, float eps, int64_t N, int64_t C) {
  const auto blocks = static_cast<unsigned>((N + kWarpsPerBlock - 1) / kWarpsPerBlock);
  VisitFloatDType(out.dtype(), "layernorm", "out", [&](auto out_type) {
    VisitPerLane(C, [&](auto per_lane) {
      LayerNormForwardWarpKernel<decltype(per_lane)::value><<<blocks, kThreads, 0, Stream(ctx)>>>(
          ElementsOf<decltype(out_type)>(out), mean.f32(), rstd.f32(), x.f32(), gamma.f32(),
          beta.f32(), N, C, eps);
      CUDA_CHECK_LAUNCH();
    });
  });
}

// dx16: empty, or the BF16 copy of dx to write in the same pass.
void BackwardWarp(const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma, Tensor dbeta,
                  const Tensor& dout, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                  const Tensor& rstd, bool accumulate_dx, int64_t N, int64_t C) {
  const int64_t blocks = std::min<int64_t>((N + kWarpsPerBlock - 1) / kWarpsPerBlock,
                                           kMaxBackwardWarps / kWarpsPerBlock);
  const int64_t warps = blocks * kWarpsPerBlock;
  Scratch partial(ctx, static_cast<size_t>(warps * 2 * C) * sizeof(float));
  VisitFloatDType(dout.dtype(), "layernorm", "dout", [&](auto dout_type) {
    VisitFloatDType(dx.dtype(), "layernorm", "dx", [&](auto dx_type) {
      VisitPerLane(C, [&](auto per_lane) {
        LayerNormBackwardWarpKernel<decltype(per_lane)::value>
            <<<static_cast<unsigned>(blocks), kThreads, 0, Stream(ctx)>>>(
                ElementsOf<decltype(dx_type)>(dx),
                dx16.defined() ? static_cast<uint16_t*>(dx16.data()) : nullptr, partial.f32(),
                ElementsOf<decltype(dout_type)>(dout), x.f32(), gamma.f32(), mean.f32(), rstd.f32(),
                N, C, accumulate_dx);
        CUDA_CHECK_LAUNCH();
      });
    });
  });
  LayerNormPartialsFinishKernel<<<GridFor(2 * C), kThreads, 0, Stream(ctx)>>>(
      partial.f32(), warps, C, dgamma.f32(), dbeta.f32());
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void LayerNormForward(const Context& ctx, Tensor out, Tensor mean, Tensor rstd, const Tensor& x,
                      const Tensor& gamma, const Tensor& beta, float eps) {
  // Arguments were checked by the public entry point (ops/layernorm.cc).
  const int64_t C = gamma.dim(0), N = C == 0 ? 0 : x.numel() / C;
  if (N == 0) return;
  if (UseWarpPath(out.dtype(), C)) {
    ForwardWarp(ctx, out, mean, rstd, x, gamma, beta, eps, N, C);
    return;
  }
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
  if (UseWarpPath(dout.dtype(), C)) {
    BackwardWarp(ctx, dx, Tensor(), dgamma, dbeta, dout, x, gamma, mean, rstd, accumulate_dx, N, C);
    return;
  }
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

void LayerNormBackwardWithCopy(const Context& ctx, Tensor dx, Tensor dx16, Tensor dgamma,
                               Tensor dbeta, const Tensor& dout, const Tensor& x,
                               const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                               bool accumulate_dx) {
  const int64_t C = gamma.dim(0), N = C == 0 ? 0 : x.numel() / C;  // checked on entry
  if (N == 0 || C == 0) return;
  if (UseWarpPath(dout.dtype(), C)) {
    BackwardWarp(ctx, dx, dx16, dgamma, dbeta, dout, x, gamma, mean, rstd, accumulate_dx, N, C);
    return;
  }
  LayerNormBackward(ctx, dx, dgamma, dbeta, dout, x, gamma, mean, rstd, accumulate_dx);
  Cast(ctx, dx16, dx);
}

}  // namespace tigerfg::ops::cuda
