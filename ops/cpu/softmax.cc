// ops/cpu/softmax.cc — softmax and log-softmax over the last dimension on the CPU backend:
// max-shifted, rows in parallel, sums in double.
#include "ops/softmax.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/backend.h"
#include "ops/cpu/vec_math.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr int64_t kParallelElements = 1 << 14;

// Rows and columns of a [..., C] tensor (shapes checked by ops/softmax.cc).
void RowsCols(const Tensor& a, int64_t* rows, int64_t* cols) {
  *cols = a.dim(-1);
  *rows = *cols == 0 ? 0 : a.numel() / *cols;
}

float RowMax(const float* x, int64_t C) {
  __m256 m8 = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + c));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m8);
  float m = lanes[0];
  for (float lane : lanes) m = std::max(m, lane);
  for (; c < C; ++c) m = std::max(m, x[c]);
  return m;
}

}  // namespace

void SoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  int64_t N, C;
  RowsCols(x, &N, &C);
  const float* px = x.f32();
  float* py = out.f32();
#pragma omp parallel for if (N * C > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = px + n * C;
    float* yr = py + n * C;
    const float m = RowMax(xr, C);
    const double sum = cpu::ExpShifted(yr, xr, m, C);
    const float inv = static_cast<float>(1.0 / sum);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
  }
}

void SoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  int64_t N, C;
  RowsCols(out, &N, &C);
  const float* pd = dout.f32();
  const float* py = out.f32();
  float* pdx = dx.f32();
#pragma omp parallel for if (N * C > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* dr = pd + n * C;
    const float* yr = py + n * C;
    float* dxr = pdx + n * C;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(dr[c]) * yr[c];
    const float s = static_cast<float>(dot);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxr[c] = yr[c] * (dr[c] - s);
  }
}

void LogSoftmaxForward(const Context& ctx, Tensor out, const Tensor& x) {
  int64_t N, C;
  RowsCols(x, &N, &C);
  const float* px = x.f32();
  float* py = out.f32();
#pragma omp parallel for if (N * C > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = px + n * C;
    float* yr = py + n * C;
    const float m = RowMax(xr, C);
    const double sum = cpu::SumExpShifted(xr, m, C);
    const float shift = m + static_cast<float>(std::log(sum));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] - shift;
  }
}

void LogSoftmaxBackward(const Context& ctx, Tensor dx, const Tensor& dout, const Tensor& out) {
  int64_t N, C;
  RowsCols(out, &N, &C);
  const float* pd = dout.f32();
  const float* py = out.f32();
  float* pdx = dx.f32();
#pragma omp parallel for if (N * C > kParallelElements)
  for (int64_t n = 0; n < N; ++n) {
    const float* dr = pd + n * C;
    const float* yr = py + n * C;
    float* dxr = pdx + n * C;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += dr[c];
    const float s = static_cast<float>(sum);
    const __m256 s8 = _mm256_set1_ps(s);
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
      const __m256 p = cpu::Exp8(_mm256_loadu_ps(yr + c));
      _mm256_storeu_ps(dxr + c, _mm256_fnmadd_ps(p, s8, _mm256_loadu_ps(dr + c)));
    }
    for (; c < C; ++c) dxr[c] = dr[c] - std::exp(yr[c]) * s;
  }
}

}  // namespace tigerfg::ops::cpu
