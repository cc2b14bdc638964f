// ops/cpu/tensor_ops.cc — the glue ops on the CPU backend: zero, residual add, copy, CLS/position
// handling, token slices and column concatenation.
#include "ops/tensor_ops.h"

#include <algorithm>
#include <cstring>

#include "ops/backend.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr int64_t kParallelElements = 1 << 15;

}  // namespace

void Zero(const Context& ctx, Tensor t) { std::memset(t.data(), 0, t.nbytes()); }

void AddInPlace(const Context& ctx, Tensor y, const Tensor& x) {
  float* py = y.f32();
  const float* px = x.f32();
  const int64_t n = y.numel();
#pragma omp parallel for simd if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) py[i] += px[i];
}

void Copy(const Context& ctx, Tensor dst, const Tensor& src) {
  if (dst.numel() == 0 || dst.data() == src.data()) return;
  std::memcpy(dst.data(), src.data(), dst.nbytes());
}

void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos) {
  const int64_t B = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  const float* pp = patches.f32();
  const float* pc = cls.f32();
  const float* ppos = pos.f32();
  float* py = out.f32();
#pragma omp parallel for collapse(2) if (B * P * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = 0; s < 1 + P; ++s) {
      const float* src = s == 0 ? pc : pp + (b * P + s - 1) * D;
      const float* pr = ppos + s * D;
      float* yr = py + (b * (1 + P) + s) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) yr[d] = src[d] + pr[d];
    }
  }
}

void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout) {
  const int64_t B = dout.dim(0), S = dout.dim(1), D = dout.dim(2);
  const int64_t P = S - 1;
  const float* pd = dout.f32();
  float* pdp = dpatches.f32();
  float* pdc = dcls.f32();
  float* pdpos = dpos.f32();
  // Threads own disjoint token rows s, summing over the batch for dpos (and dcls at s = 0).
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t s = 0; s < S; ++s) {
    float* pos_row = pdpos + s * D;
    for (int64_t b = 0; b < B; ++b) {
      const float* dr = pd + (b * S + s) * D;
      float* target = s == 0 ? pdc : pdp + (b * P + s - 1) * D;
      if (s == 0) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          target[d] += dr[d];
          pos_row[d] += dr[d];
        }
      } else {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          target[d] = dr[d];
          pos_row[d] += dr[d];
        }
      }
    }
  }
}

void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos) {
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2);
  float* px = x.f32();
  const float* pp = pos.f32();
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    float* xb = px + b * S * D;
#pragma omp simd
    for (int64_t i = 0; i < S * D; ++i) xb[i] += pp[i];
  }
}

void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx) {
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2);
  const float* pd = dx.f32();
  float* pp = dpos.f32();
#pragma omp parallel for if (B * S * D > kParallelElements)
  for (int64_t s = 0; s < S; ++s) {
    float* row = pp + s * D;
    for (int64_t b = 0; b < B; ++b) {
      const float* dr = pd + (b * S + s) * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) row[d] += dr[d];
    }
  }
}

void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin) {
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2), n = out.dim(1);
  const float* px = x.f32();
  float* py = out.f32();
#pragma omp parallel for if (B * n * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    const float* src = px + (b * S + begin) * D;
    std::copy(src, src + n * D, py + b * n * D);
  }
}

void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin) {
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2), n = dout.dim(1);
  const float* pd = dout.f32();
  float* px = dx.f32();
#pragma omp parallel for if (B * n * D > kParallelElements)
  for (int64_t b = 0; b < B; ++b) {
    float* dst = px + (b * S + begin) * D;
    const float* src = pd + b * n * D;
#pragma omp simd
    for (int64_t i = 0; i < n * D; ++i) dst[i] += src[i];
  }
}

void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b) {
  const int64_t N = a.dim(0), A = a.dim(1), C = b.dim(1);
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = out.f32();
#pragma omp parallel for if (N * (A + C) > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    std::copy(pa + n * A, pa + n * A + A, py + n * (A + C));
    std::copy(pb + n * C, pb + n * C + C, py + n * (A + C) + A);
  }
}

void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout) {
  const int64_t N = da.dim(0), A = da.dim(1), C = db.dim(1);
  const float* pd = dout.f32();
  float* pa = da.f32();
  float* pb = db.f32();
#pragma omp parallel for if (N * (A + C) > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    std::copy(pd + n * (A + C), pd + n * (A + C) + A, pa + n * A);
    std::copy(pd + n * (A + C) + A, pd + (n + 1) * (A + C), pb + n * C);
  }
}

}  // namespace tigerfg::ops::cpu
