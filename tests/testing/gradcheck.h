// tests/testing/gradcheck.h — random tensors and the central-difference gradient checker that
// every op's test uses (Caffe's GradientChecker idea: error relative to max(|g|, 1)).
#pragma once

#include <functional>
#include <vector>

#include "runtime/core/rng.h"
#include "runtime/core/tensor.h"

namespace tigerfg::testing {

// A host F32 buffer of N(0, stddev^2) values.
Buffer RandomBuffer(Shape shape, Rng& rng, float stddev = 1.0f);

// Σ a ⊙ w in double: turns an op's output into the scalar the checker differentiates, with the
// random projection w as the upstream gradient dout.
double Dot(const Tensor& a, const Tensor& w);

// For each input tensor and each of its elements (or `max_per_input` evenly spaced ones), compares
// analytic_grads[k][i] with (loss(x + h) - loss(x - h)) / 2h, where loss() recomputes the scalar
// from the current contents of the inputs. Fails (EXPECT) when
// |numeric - analytic| > tolerance * max(|numeric|, |analytic|, 1).
void ExpectGradientsMatch(const std::function<double()>& loss, const std::vector<Tensor>& inputs,
                          const std::vector<Tensor>& analytic_grads, double step, double tolerance,
                          int64_t max_per_input = 200);

// max_i |a_i - b_i| / max(max_i |b_i|, tiny): relative error of whole tensors.
double MaxRelativeError(const Tensor& a, const Tensor& b);

}  // namespace tigerfg::testing
