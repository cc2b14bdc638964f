// ops/cpu/cast.cc — fp32 <-> bf16 conversion and same-type copies on the CPU backend,
// OpenMP-parallel (runtime/bf16.cc) for buffers the size of the parameter buffer.
#include <algorithm>
#include <cstring>

#include "ops/backend.h"
#include "runtime/core/bf16.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr int64_t kParallelBytes = 1 << 20;
constexpr int64_t kCopyChunkBytes = 1 << 18;

}  // namespace

void Cast(const Context& ctx, Tensor out, const Tensor& in) {
  const int64_t n = in.numel();
  if (n == 0) return;
  if (out.dtype() == in.dtype()) {
    // Chunked so that large copies use every core's memory bandwidth.
    const int64_t bytes = static_cast<int64_t>(in.nbytes());
    const int64_t chunks = (bytes + kCopyChunkBytes - 1) / kCopyChunkBytes;
    auto* dst = static_cast<char*>(out.data());
    const auto* src = static_cast<const char*>(in.data());
#pragma omp parallel for if (bytes > kParallelBytes)
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t begin = k * kCopyChunkBytes;
      std::memcpy(dst + begin, src + begin, std::min(kCopyChunkBytes, bytes - begin));
    }
  } else if (in.dtype() == DType::kF32 && out.dtype() == DType::kBF16) {
    FloatToBF16(in.f32(), out.bf16(), n);
  } else {  // BF16 -> F32: the entry point (ops/cast.cc) allows nothing else
    BF16ToFloat(in.bf16(), out.f32(), n);
  }
}

}  // namespace tigerfg::ops::cpu
