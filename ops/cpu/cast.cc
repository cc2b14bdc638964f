// ops/cpu/cast.cc — fp32 <-> bf16 conversion and same-type copies on the CPU, OpenMP-parallel
// (runtime/bf16.cc) for buffers the size of the parameter buffer.
#include "ops/cast.h"

#include <algorithm>
#include <cstring>

#include "ops/dispatch.h"
#include "runtime/core/bf16.h"

namespace tigerfg::ops {
namespace {

constexpr int64_t kParallelBytes = 1 << 20;
constexpr int64_t kCopyChunkBytes = 1 << 18;

}  // namespace

void Cast(const Context& ctx, Tensor out, const Tensor& in) {
  CHECK_EQ(out.numel(), in.numel())
      << "cast: out " << out.shape().ToString() << " vs in " << in.shape().ToString();
  TIGERFG_CUDA_DISPATCH(Cast(ctx, out, in));
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
  } else if (in.dtype() == DType::kBF16 && out.dtype() == DType::kF32) {
    BF16ToFloat(in.bf16(), out.f32(), n);
  } else {
    LOG(FATAL) << "cast: " << DTypeName(in.dtype()) << " -> " << DTypeName(out.dtype())
               << " is not supported (F32 <-> BF16 or the same dtype)";
  }
}

}  // namespace tigerfg::ops
