// ops/cuda/bf16.cuh — element access for kernels templated on the element type (float, or
// uint16_t holding a bf16): reads give the float a value encodes, writes round to nearest even
// with __float2bfloat16_rn, bit-identical to the host FloatToBF16 (runtime/bf16.h).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace tigerfg::ops::cuda {

__device__ __forceinline__ float ToFloat(float v) { return v; }
__device__ __forceinline__ float ToFloat(uint16_t v) {
  return __uint_as_float(static_cast<uint32_t>(v) << 16);
}

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ uint16_t FromFloat<uint16_t>(float v) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(v));
}

}  // namespace tigerfg::ops::cuda
