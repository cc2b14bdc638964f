// tests/testing/bf16.cc — bf16 helpers of the CPU op tests.
#include "tests/testing/bf16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "runtime/core/bf16.h"

namespace tigerfg::testing {

Buffer InDType(const Buffer& values, DType dtype) {
  Buffer b(dtype, values.shape());
  if (dtype == DType::kF32) {
    std::copy(values.f32(), values.f32() + values.numel(), b.f32());
  } else {
    for (int64_t i = 0; i < values.numel(); ++i)
      b.tensor().bf16()[i] = FloatToBF16(values.f32()[i]);
  }
  return b;
}

Buffer RoundedTo(const Buffer& values, DType dtype) {
  Buffer b = Buffer::Zeros(values.shape());
  for (int64_t i = 0; i < values.numel(); ++i)
    b.f32()[i] = dtype == DType::kF32 ? values.f32()[i] : BF16ToFloat(FloatToBF16(values.f32()[i]));
  return b;
}

Buffer AsF32(const Buffer& b) {
  Buffer f = Buffer::Zeros(b.shape());
  for (int64_t i = 0; i < b.numel(); ++i)
    f.f32()[i] = b.dtype() == DType::kF32 ? b.f32()[i] : BF16ToFloat(b.tensor().bf16()[i]);
  return f;
}

void ExpectEqualInDType(const Buffer& got, const Buffer& want, const std::string& name) {
  const Buffer expected = InDType(want, got.dtype());
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < got.nbytes(); i += DTypeSize(got.dtype())) {
    if (std::memcmp(static_cast<const char*>(got.data()) + i,
                    static_cast<const char*>(expected.data()) + i, DTypeSize(got.dtype())) != 0) {
      if (first < 0) first = static_cast<int64_t>(i / DTypeSize(got.dtype()));
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << name << " (" << DTypeName(got.dtype()) << "): " << bad << " of "
                    << got.numel() << " elements differ, first at " << first;
}

float ValueAt(const Buffer& b, int64_t i) {
  return b.dtype() == DType::kF32 ? b.f32()[i] : BF16ToFloat(b.tensor().bf16()[i]);
}

L2Comparison CompareL2(const Buffer& got, const Buffer& want) {
  L2Comparison c;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = ValueAt(got, i), w = ValueAt(want, i);
    if (std::isinf(w)) {
      if (g != w) ++c.wrong_inf;
      continue;
    }
    if (std::isfinite(w) && !std::isfinite(g)) {
      ++c.unwritten;
      continue;
    }
    c.diff += (g - w) * (g - w);
    c.ref += w * w;
  }
  return c;
}

}  // namespace tigerfg::testing
