// ops/cuda/gelu.cu — tanh-form GELU on CUDA, elementwise (x · sigmoid(2u), as the CPU twin).
// Kernels are templated on each tensor's element type (float, or uint16_t holding a bf16).
#include "ops/backend.h"
#include "ops/cuda/bf16.cuh"
#include "ops/cuda/common.cuh"
#include "runtime/core/bf16.h"

namespace tigerfg::ops::cuda {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

template <typename OutT, typename XT>
__global__ void GeluForwardKernel(OutT* out, const XT* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = ToFloat(x[i]);
    const float u = kSqrt2OverPi * (v + kCubic * v * v * v);
    out[i] = FromFloat<OutT>(v / (1.0f + expf(-2.0f * u)));
  }
}

// gelu'(x) = s + 2 x s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3·0.044715 x^2).
// dx may alias dout (same type): each element is read before it is written, by one thread.
template <typename DxT, typename DoutT, typename XT>
__global__ void GeluBackwardKernel(DxT* dx, const DoutT* dout, const XT* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = ToFloat(x[i]);
    const float u = kSqrt2OverPi * (v + kCubic * v * v * v);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    const float s = 1.0f / (1.0f + expf(-2.0f * u));
    dx[i] = FromFloat<DxT>(ToFloat(dout[i]) * (s + 2.0f * v * s * (1.0f - s) * du));
  }
}

}  // namespace

void GeluForward(const Context& ctx, Tensor out, const Tensor& x) {
  const int64_t n = x.numel();  // sizes checked by ops/gelu.cc
  if (n == 0) return;
  VisitFloatDType(out.dtype(), "gelu", "out", [&](auto out_type) {
    VisitFloatDType(x.dtype(), "gelu", "x", [&](auto x_type) {
      GeluForwardKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(
          ElementsOf<decltype(out_type)>(out), ElementsOf<decltype(x_type)>(x), n);
      CUDA_CHECK_LAUNCH();
    });
  });
}

void GeluBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& x) {
  const int64_t n = x.numel();  // sizes checked by ops/gelu.cc
  if (n == 0) return;
  VisitFloatDType(dx.dtype(), "gelu", "dx", [&](auto dx_type) {
    VisitFloatDType(dout.dtype(), "gelu", "dout", [&](auto dout_type) {
      VisitFloatDType(x.dtype(), "gelu", "x", [&](auto x_type) {
        GeluBackwardKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(
            ElementsOf<decltype(dx_type)>(dx), ElementsOf<decltype(dout_type)>(dout),
            ElementsOf<decltype(x_type)>(x), n);
        CUDA_CHECK_LAUNCH();
      });
    });
  });
}

}  // namespace tigerfg::ops::cuda
