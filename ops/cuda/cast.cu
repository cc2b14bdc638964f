// ops/cuda/cast.cu — fp32 <-> bf16 conversion and same-type copies on CUDA. The conversions move
// 8 elements per thread with 16-byte loads/stores when both pointers allow it (the weight refresh
// converts the whole flat parameter buffer, ~200M elements, every step).
#include <cstdint>

#include "ops/backend.h"
#include "ops/cuda/bf16.cuh"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

constexpr int64_t kVector = 8;  // elements per thread in the vectorised kernels

__device__ __forceinline__ uint32_t PackBF16(float lo, float hi) {
  return static_cast<uint32_t>(FromFloat<uint16_t>(lo)) |
         static_cast<uint32_t>(FromFloat<uint16_t>(hi)) << 16;
}

// Groups of 8: two float4 loads, one 16-byte store. in and out 16-byte aligned.
__global__ void FloatToBF16VectorKernel(uint16_t* out, const float* in, int64_t n) {
  const int64_t groups = n / kVector;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const auto* in4 = reinterpret_cast<const float4*>(in);
  auto* out4 = reinterpret_cast<uint4*>(out);
  for (int64_t g = first; g < groups; g += stride) {
    const float4 a = in4[2 * g];
    const float4 b = in4[2 * g + 1];
    out4[g] =
        make_uint4(PackBF16(a.x, a.y), PackBF16(a.z, a.w), PackBF16(b.x, b.y), PackBF16(b.z, b.w));
  }
  for (int64_t i = groups * kVector + first; i < n; i += stride)
    out[i] = FromFloat<uint16_t>(in[i]);
}

// Groups of 8: one 16-byte load, two float4 stores. in and out 16-byte aligned.
__global__ void BF16ToFloatVectorKernel(float* out, const uint16_t* in, int64_t n) {
  const int64_t groups = n / kVector;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const auto* in4 = reinterpret_cast<const uint4*>(in);
  auto* out4 = reinterpret_cast<float4*>(out);
  for (int64_t g = first; g < groups; g += stride) {
    const uint4 v = in4[g];
    // The low half of each 32-bit word is the earlier element (little endian).
    out4[2 * g] = make_float4(__uint_as_float(v.x << 16), __uint_as_float(v.x & 0xFFFF0000u),
                              __uint_as_float(v.y << 16), __uint_as_float(v.y & 0xFFFF0000u));
    out4[2 * g + 1] = make_float4(__uint_as_float(v.z << 16), __uint_as_float(v.z & 0xFFFF0000u),
                                  __uint_as_float(v.w << 16), __uint_as_float(v.w & 0xFFFF0000u));
  }
  for (int64_t i = groups * kVector + first; i < n; i += stride) out[i] = ToFloat(in[i]);
}

// Any alignment, one element per iteration.
template <typename Out, typename In>
__global__ void CastScalarKernel(Out* out, const In* in, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = FromFloat<Out>(ToFloat(in[i]));
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void Cast(const Context& ctx, Tensor out, const Tensor& in) {
  const int64_t n = in.numel();
  if (n == 0) return;
  const cudaStream_t stream = Stream(ctx);
  const bool aligned = Aligned16(out.data()) && Aligned16(in.data());
  const unsigned vector_grid = GridFor(std::max<int64_t>(n / kVector, 1));
  if (out.dtype() == in.dtype()) {
    CUDA_CHECK(
        cudaMemcpyAsync(out.data(), in.data(), in.nbytes(), cudaMemcpyDeviceToDevice, stream));
  } else if (in.dtype() == DType::kF32 && out.dtype() == DType::kBF16) {
    if (aligned) {
      FloatToBF16VectorKernel<<<vector_grid, kThreads, 0, stream>>>(out.bf16(), in.f32(), n);
    } else {
      CastScalarKernel<<<GridFor(n), kThreads, 0, stream>>>(out.bf16(), in.f32(), n);
    }
    CUDA_CHECK_LAUNCH();
  } else if (in.dtype() == DType::kBF16 && out.dtype() == DType::kF32) {
    if (aligned) {
      BF16ToFloatVectorKernel<<<vector_grid, kThreads, 0, stream>>>(out.f32(), in.bf16(), n);
    } else {
      CastScalarKernel<<<GridFor(n), kThreads, 0, stream>>>(out.f32(), in.bf16(), n);
    }
    CUDA_CHECK_LAUNCH();
  } else {
    LOG(FATAL) << "cast: " << DTypeName(in.dtype()) << " -> " << DTypeName(out.dtype())
               << " is not supported (F32 <-> BF16 or the same dtype)";
  }
}

}  // namespace tigerfg::ops::cuda
