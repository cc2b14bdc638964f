// runtime/core/bf16.cc — bulk float <-> bf16 conversion on the host: 8 lanes at a time, threads for
// buffers the size of the flat parameter buffer (the weight refresh converts ~200M elements).
#include "runtime/core/bf16.h"

namespace tigerfg {
namespace {

// Below this a conversion is memory-bound and shorter than waking the thread team.
constexpr int64_t kParallelElements = 1 << 16;

}  // namespace

void FloatToBF16(const float* in, uint16_t* out, int64_t n) {
#if defined(__AVX2__)
  const int64_t vector_end = n / 8 * 8;
#pragma omp parallel for if (n > kParallelElements)
  for (int64_t i = 0; i < vector_end; i += 8) Store8FromFloat(out + i, Load8AsFloat(in + i));
#else
  const int64_t vector_end = 0;
#endif
#pragma omp parallel for if (n - vector_end > kParallelElements)
  for (int64_t i = vector_end; i < n; ++i) out[i] = FloatToBF16(in[i]);
}

void BF16ToFloat(const uint16_t* in, float* out, int64_t n) {
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) out[i] = BF16ToFloat(in[i]);
}

}  // namespace tigerfg
