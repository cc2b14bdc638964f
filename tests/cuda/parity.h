// tests/cuda/parity.h — helpers of the CUDA-vs-CPU parity tests: host/device tensor pairs with
// the same contents, NaN-poisoned device outputs, and the comparison of a device result with
// its CPU twin (relative L2 error, every element written and finite).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "runtime/core/bf16.h"
#include "runtime/core/buffer.h"
#include "runtime/core/context.h"
#include "runtime/core/rng.h"
#include "runtime/core/tensor.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::cuda_testing {

// Every test starts with this: no GPU, no test.
#define TIGERFG_REQUIRE_GPU() \
  if (!::tigerfg::CudaAvailable()) GTEST_SKIP() << "no GPU"

// The process's CUDA context on device 0 (created on first use).
inline const Context& Gpu() {
  static const Context ctx = Context::Cuda(0);
  return ctx;
}

inline const Context& Cpu() {
  static const Context ctx = Context::Cpu();
  return ctx;
}

// A tensor on both sides: `host` feeds the CPU op, `dev` the CUDA op.
struct Twin {
  Buffer host;
  Buffer dev;  // on Gpu()
  Tensor h() const { return host.tensor(); }
  Tensor d() const { return dev.tensor(); }
};

// Both sides hold a copy of `init`.
inline Twin Same(const Buffer& init) {
  Twin t{Buffer(init.dtype(), init.shape()), ToDevice(Gpu(), init.tensor())};
  std::memcpy(t.host.data(), init.data(), init.nbytes());
  return t;
}

// Random N(0, stddev^2) contents, the same on both sides.
inline Twin Random(Shape shape, Rng& rng, float stddev = 1.0f) {
  return Same(testing::RandomBuffer(shape, rng, stddev));
}

// An output: zeros on the host, NaN on the device (so an element the CUDA op does not write
// fails the comparison).
inline Twin Output(Shape shape) {
  Buffer nan(DType::kF32, shape);
  std::fill(nan.f32(), nan.f32() + nan.numel(), std::numeric_limits<float>::quiet_NaN());
  Twin t{Buffer(DType::kF32, shape), ToDevice(Gpu(), nan.tensor())};
  return t;
}

// A view of t's memory from element `offset` on, with another shape (misaligned views).
inline Tensor At(const Tensor& t, int64_t offset, Shape shape) {
  return Tensor(static_cast<float*>(t.data()) + offset, DType::kF32, shape, t.device());
}

// I64 or U8 contents from a vector, on both sides.
template <typename T>
inline Twin FromValues(DType dtype, Shape shape, const std::vector<T>& values) {
  Buffer b(dtype, shape);
  CHECK_EQ(static_cast<size_t>(b.numel()), values.size());
  CHECK_EQ(b.nbytes(), values.size() * sizeof(T));
  std::memcpy(b.data(), values.data(), b.nbytes());
  return Same(b);
}

inline Buffer ToHost(const Buffer& dev) { return ::tigerfg::ToHost(Gpu(), dev.tensor()); }

// The device result equals the host one within `rtol` relative L2 error, and every device
// element is finite wherever the host one is (catches unwritten, NaN-poisoned elements).
// Elements before `begin` are not compared.
inline void ExpectMatch(const Twin& t, const std::string& name, double rtol = 1e-5,
                        int64_t begin = 0) {
  const Buffer got = ToHost(t.dev);
  const float* g = got.f32();
  const float* want = t.host.f32();
  double diff = 0, ref = 0;
  int64_t unwritten = 0, first_bad = -1;
  for (int64_t i = begin; i < got.numel(); ++i) {
    if (std::isfinite(want[i]) && !std::isfinite(g[i])) {
      ++unwritten;
      if (first_bad < 0) first_bad = i;
      continue;
    }
    diff += (static_cast<double>(g[i]) - want[i]) * (static_cast<double>(g[i]) - want[i]);
    ref += static_cast<double>(want[i]) * want[i];
  }
  EXPECT_EQ(unwritten, 0) << name << ": " << unwritten << " of " << got.numel()
                          << " elements not finite on the GPU, first at " << first_bad;
  const double err = std::sqrt(diff) / std::max(std::sqrt(ref), 1e-30);
  if (ref == 0) {
    EXPECT_EQ(diff, 0) << name << ": reference is all zeros, GPU is not";
  } else {
    EXPECT_LE(err, rtol) << name << ": relative L2 error " << err << " over " << got.numel()
                         << " elements (|ref| = " << std::sqrt(ref) << ")";
  }
}

// N(0, stddev^2) values (plus `shift`) in `dtype` (F32 or BF16), the same on both sides.
inline Twin RandomOf(DType dtype, Shape shape, Rng& rng, float stddev = 1.0f, float shift = 0.0f) {
  Buffer values = testing::RandomBuffer(shape, rng, stddev);
  Buffer b(dtype, shape);
  for (int64_t i = 0; i < b.numel(); ++i) {
    const float v = values.f32()[i] + shift;
    if (dtype == DType::kF32) {
      b.f32()[i] = v;
    } else {
      b.tensor().bf16()[i] = FloatToBF16(v);
    }
  }
  return Same(b);
}

// An output in `dtype`: zeros on the host, NaN on the device (unwritten elements fail).
inline Twin OutputOf(DType dtype, Shape shape) {
  Buffer nan(dtype, shape);
  for (int64_t i = 0; i < nan.numel(); ++i) {
    if (dtype == DType::kF32) {
      nan.f32()[i] = std::numeric_limits<float>::quiet_NaN();
    } else {
      nan.tensor().bf16()[i] = kBF16CanonicalNaN;
    }
  }
  Twin t = Same(nan);
  std::memset(t.host.data(), 0, t.host.nbytes());
  return t;
}

// Device result vs host result as floats: relative L2 error within `rtol` (default 1e-2 for a
// BF16 tensor, 1e-5 for an F32 one); every device element finite where the host one is, and
// equal where the host one is infinite (a log-sum-exp of a fully masked row is -inf).
inline void ExpectMatchTyped(const Twin& t, const std::string& name, double rtol = 0) {
  if (rtol <= 0) rtol = t.host.dtype() == DType::kBF16 ? 1e-2 : 1e-5;
  const Buffer got = ToHost(t.dev);
  const testing::L2Comparison c = testing::CompareL2(got, t.host);
  const std::string what = name + " (" + DTypeName(t.host.dtype()) + ")";
  EXPECT_EQ(c.unwritten, 0) << what << ": " << c.unwritten << " of " << got.numel()
                            << " elements not finite on the GPU";
  EXPECT_EQ(c.wrong_inf, 0) << what << ": " << c.wrong_inf << " infinite reference elements differ";
  ASSERT_GT(c.ref, 0) << what << ": the reference is all zeros";
  EXPECT_LE(c.error(), rtol) << what << ": relative L2 error " << c.error() << " over "
                             << got.numel();
}

}  // namespace tigerfg::cuda_testing
