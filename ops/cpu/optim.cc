// ops/cpu/optim.cc — AdamW and the gradient norm on the CPU backend (OpenMP over the flat buffers).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/backend.h"
#include "runtime/core/bf16.h"

namespace tigerfg::ops::cpu {

void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& h) {
  const int64_t n = params.numel();  // sizes checked by ops/optim.cc
  float* p = params.f32();
  float* pm = m.f32();
  float* pv = v.f32();
  const float* g = grads.f32();
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - h.lr * h.weight_decay;
  const float b1 = h.beta1, b2 = h.beta2, eps = h.eps, scale = h.grad_scale;
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * scale;
    const float mi = b1 * pm[i] + (1.0f - b1) * gi;
    const float vi = b2 * pv[i] + (1.0f - b2) * gi * gi;
    pm[i] = mi;
    pv[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

void AdamWMultiUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, Tensor params16,
                      const Tensor& grads, const Tensor& table, const Tensor& grad_sumsq,
                      const AdamWHyper& h) {
  const int64_t count = table.dim(0);
  if (count == 0) return;
  const int64_t* rows = table.i64();
  const int64_t n = params.numel();
  float scale = h.grad_scale;
  if (h.skip != nullptr && *h.skip != 0) return;  // a failed step: gated, nothing changes
  if (grad_sumsq.defined()) {
    double sumsq;
    std::memcpy(&sumsq, grad_sumsq.i64(), sizeof(sumsq));
    if (!std::isfinite(sumsq)) return;  // non-finite gradients never reach the weights
    const double norm = std::sqrt(sumsq), clip = h.clip_grad_norm;
    // torch.nn.utils.clip_grad_norm_'s factor
    if (clip > 0) scale = norm > clip ? static_cast<float>(clip / (norm + 1e-6)) : 1.0f;
  }
  float* p = params.f32();
  float* pm = m.f32();
  float* pv = v.f32();
  const float* g = grads.f32();
  uint16_t* p16 = params16.defined() ? params16.bf16() : nullptr;
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decays[2] = {1.0f - h.lr * 0.0f, 1.0f - h.lr * h.weight_decay};
  const float b1 = h.beta1, b2 = h.beta2, eps = h.eps;
  const int64_t* last = rows + (count - 1) * kAdamWTableCols;
  const int64_t chunks = last[3] + (last[1] + kAdamWChunk - 1) / kAdamWChunk;
  for (int64_t r = 0; r < count; ++r) {
    const int64_t* row = rows + r * kAdamWTableCols;
    CHECK(row[0] >= 0 && row[1] >= 0 && row[0] + row[1] <= n)
        << "AdamWMultiUpdate: table row " << r << " outside the buffers";
  }
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t* row = rows + AdamWRowOfChunk(rows, count, c) * kAdamWTableCols;
    const int64_t begin = row[0] + (c - row[3]) * kAdamWChunk;
    const int64_t end = std::min(row[0] + row[1], begin + kAdamWChunk);
    const float decay = decays[row[2] != 0];
    // The same expressions as AdamWUpdate, so both give the same bits.
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i] * scale;
      const float mi = b1 * pm[i] + (1.0f - b1) * gi;
      const float vi = b2 * pv[i] + (1.0f - b2) * gi * gi;
      pm[i] = mi;
      pv[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
    if (p16 != nullptr)
      for (int64_t i = begin; i < end; ++i) p16[i] = FloatToBF16(p[i]);
  }
}

void SumOfSquaresInto(const Context& ctx, Tensor out, const Tensor& x) {
  const double sum = SumOfSquares(ctx, x);
  std::memcpy(out.i64(), &sum, sizeof(sum));
}

double SumOfSquares(const Context& ctx, const Tensor& x) {
  const float* p = x.f32();
  const int64_t n = x.numel();
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * p[i];
  return sum;
}

}  // namespace tigerfg::ops::cpu
