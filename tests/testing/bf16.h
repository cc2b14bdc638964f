// tests/testing/bf16.h — bf16 helpers of the CPU op tests: values in a dtype (scalar rounding,
// independent of the ops' AVX2 conversion), their floats, and exact comparison in a dtype.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "runtime/core/tensor.h"

namespace tigerfg::testing {

// `values` (F32) in `dtype`: F32 copies, BF16 rounds each element to nearest even.
Buffer InDType(const Buffer& values, DType dtype);
// The floats `values` (F32) holds after rounding to `dtype`.
Buffer RoundedTo(const Buffer& values, DType dtype);
// An F32 copy of an F32 or BF16 buffer (exact).
Buffer AsF32(const Buffer& b);
// got (F32 or BF16) holds exactly want (F32) rounded to got's dtype.
void ExpectEqualInDType(const Buffer& got, const Buffer& want, const std::string& name);

// Element i of an F32 or BF16 host buffer, as a float.
float ValueAt(const Buffer& b, int64_t i);

// got against want (F32 or BF16 host buffers of one size) as floats: the relative L2 error over
// the elements where want is finite, the elements got leaves non-finite there (unwritten), and
// those where want is infinite and got differs.
struct L2Comparison {
  double diff = 0, ref = 0;  // sum of squared differences, of squared want
  int64_t unwritten = 0, wrong_inf = 0;
  double error() const { return ref > 0 ? std::sqrt(diff / ref) : (diff > 0 ? INFINITY : 0); }
};
L2Comparison CompareL2(const Buffer& got, const Buffer& want);

}  // namespace tigerfg::testing
