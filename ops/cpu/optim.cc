// ops/cpu/optim.cc — AdamW and the gradient norm on the CPU backend (OpenMP over the flat buffers).
#include <cmath>

#include "ops/backend.h"

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

double SumOfSquares(const Context& ctx, const Tensor& x) {
  const float* p = x.f32();
  const int64_t n = x.numel();
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * p[i];
  return sum;
}

}  // namespace tigerfg::ops::cpu
