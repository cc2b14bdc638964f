// runtime/core/bf16.h — bfloat16 on the host: round-to-nearest-even conversion bit-identical to
// CUDA's
// __float2bfloat16_rn, bulk conversions, and the F32/BF16 element-type switch the ops template on.
// Included by .cu files too, so C++17 and no CUDA headers.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/core/tensor.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace tigerfg {

// The canonical bf16 NaN that CUDA's cvt.rn.bf16.f32 produces for every NaN input.
constexpr uint16_t kBF16CanonicalNaN = 0x7FFF;

// Round to nearest, ties to even. Infinities stay; overflow goes to infinity; subnormals round
// like normals; every NaN becomes kBF16CanonicalNaN (a payload-only NaN would otherwise round
// to infinity).
inline uint16_t FloatToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  // A select rather than an early return, so that loops over it vectorise.
  return static_cast<uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? kBF16CanonicalNaN : rounded);
}

// Exact: every bf16 is a float.
inline float BF16ToFloat(uint16_t value) {
  const uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

// Bulk conversions of n elements, OpenMP-parallel for large n; in and out must not overlap.
void FloatToBF16(const float* in, uint16_t* out, int64_t n);
void BF16ToFloat(const uint16_t* in, float* out, int64_t n);

// Scalar element access for code templated on the element type (float or uint16_t = bf16):
// reads give the float a value encodes, writes round to the element type.
inline float LoadAsFloat(const float* p, int64_t i) { return p[i]; }
inline float LoadAsFloat(const uint16_t* p, int64_t i) { return BF16ToFloat(p[i]); }
inline void StoreFromFloat(float* p, int64_t i, float v) { p[i] = v; }
inline void StoreFromFloat(uint16_t* p, int64_t i, float v) { p[i] = FloatToBF16(v); }

// The typed element pointer of an F32 (float) or BF16 (uint16_t) tensor; CHECKs the dtype.
template <typename T>
T* ElementsOf(const Tensor& t);
template <>
inline float* ElementsOf<float>(const Tensor& t) {
  return t.f32();
}
template <>
inline uint16_t* ElementsOf<uint16_t>(const Tensor& t) {
  return t.bf16();
}

// Calls f(float{}) for F32 and f(uint16_t{}) for BF16, so that an op picks its templated kernel
// once per call; any other dtype dies naming `op` and `name`.
template <typename F>
void VisitFloatDType(DType dtype, const char* op, const char* name, F&& f) {
  if (dtype == DType::kF32) {
    f(float{});
  } else if (dtype == DType::kBF16) {
    f(uint16_t{});
  } else {
    LOG(FATAL) << op << ": " << name << " is " << DTypeName(dtype) << ", expected F32 or BF16";
  }
}

#if defined(__AVX2__)
// 8-wide element access for AVX2 loops templated on the element type; the float forms are plain
// unaligned loads/stores, so an F32 instance compiles to the code it had before bf16 existed.
inline __m256 Load8AsFloat(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Load8AsFloat(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline void Store8FromFloat(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
// FloatToBF16 on 8 lanes.
inline void Store8FromFloat(uint16_t* p, __m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
  rounded = _mm256_srli_epi32(rounded, 16);
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
  const __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F800000));
  rounded = _mm256_blendv_epi8(rounded, _mm256_set1_epi32(kBF16CanonicalNaN), nan);
  // Lanes hold 0..0xFFFF, so the signed-to-unsigned saturating pack is exact; it packs within
  // 128-bit halves, hence the permute that puts the two halves' results side by side.
  const __m256i packed = _mm256_packus_epi32(rounded, rounded);
  const __m256i ordered = _mm256_permute4x64_epi64(packed, 0b00001000);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(ordered));
}
#endif

}  // namespace tigerfg
