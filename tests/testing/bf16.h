// tests/testing/bf16.h — bf16 helpers of the CPU op tests: values in a dtype (scalar rounding,
// independent of the ops' AVX2 conversion), their floats, and exact comparison in a dtype.
#pragma once

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

}  // namespace tigerfg::testing
