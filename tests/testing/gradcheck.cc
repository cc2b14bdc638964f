// tests/testing/gradcheck.cc — central differences against analytic gradients.
#include "tests/testing/gradcheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace tigerfg::testing {

Buffer RandomBuffer(Shape shape, Rng& rng, float stddev) {
  Buffer b(DType::kF32, shape);
  rng.FillNormal(b.tensor(), stddev);
  return b;
}

double Dot(const Tensor& a, const Tensor& w) {
  CHECK_EQ(a.numel(), w.numel());
  const float* pa = a.f32();
  const float* pw = w.f32();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(pa[i]) * pw[i];
  return s;
}

void ExpectGradientsMatch(const std::function<double()>& loss, const std::vector<Tensor>& inputs,
                          const std::vector<Tensor>& analytic_grads, double step, double tolerance,
                          int64_t max_per_input) {
  ASSERT_EQ(inputs.size(), analytic_grads.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    const Tensor& g = analytic_grads[k];
    ASSERT_EQ(x.numel(), g.numel()) << "input " << k;
    const int64_t n = x.numel();
    const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(1, max_per_input));
    float* px = x.f32();
    const float* pg = g.f32();
    for (int64_t i = 0; i < n; i += stride) {
      const float saved = px[i];
      px[i] = static_cast<float>(saved + step);
      const double up = loss();
      px[i] = static_cast<float>(saved - step);
      const double down = loss();
      px[i] = saved;
      // the step actually taken in float
      const double h = (static_cast<double>(static_cast<float>(saved + step)) -
                        static_cast<double>(static_cast<float>(saved - step)));
      const double numeric = (up - down) / h;
      const double analytic = pg[i];
      const double scale = std::max({std::fabs(numeric), std::fabs(analytic), 1.0});
      EXPECT_LE(std::fabs(numeric - analytic), tolerance * scale)
          << "input " << k << " element " << i << ": numeric " << numeric << " analytic "
          << analytic;
    }
  }
}

double MaxRelativeError(const Tensor& a, const Tensor& b) {
  CHECK_EQ(a.numel(), b.numel());
  const float* pa = a.f32();
  const float* pb = b.f32();
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(pa[i] - pb[i])));
    ref = std::max(ref, static_cast<double>(std::fabs(pb[i])));
  }
  return diff / std::max(ref, 1e-30);
}

}  // namespace tigerfg::testing
