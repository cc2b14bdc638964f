// tests/testing/op_harness.cc — building, running and comparing the backend harness's cases.
#include "tests/testing/op_harness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <utility>

#include "runtime/core/bf16.h"
#include "runtime/core/buffer.h"
#include "tests/testing/bf16.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::testing {
namespace {

bool IsFloat(DType dtype) { return dtype == DType::kF32 || dtype == DType::kBF16; }

// A host buffer of `shape` in `dtype` whose floats are all NaN (the poison of outputs).
Buffer Poisoned(const Buffer& like) {
  Buffer b(like.dtype(), like.shape());
  for (int64_t i = 0; i < b.numel(); ++i) {
    if (b.dtype() == DType::kF32) {
      b.f32()[i] = std::numeric_limits<float>::quiet_NaN();
    } else if (b.dtype() == DType::kBF16) {
      b.tensor().bf16()[i] = kBF16CanonicalNaN;
    }
  }
  return b;
}

bool Compared(Role role) { return role == Role::kOutput || role == Role::kInOut; }

// got matches want (both host, same dtype and shape) within rtol relative L2 error.
void ExpectClose(const Buffer& got, const Buffer& want, double rtol, const std::string& what) {
  if (!IsFloat(want.dtype())) {
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.nbytes()), 0) << what << ": bytes differ";
    return;
  }
  const L2Comparison c = CompareL2(got, want);
  EXPECT_EQ(c.unwritten, 0) << what << ": " << c.unwritten << " of " << want.numel()
                            << " elements not finite where the CPU's are";
  EXPECT_EQ(c.wrong_inf, 0) << what << ": " << c.wrong_inf << " infinite CPU elements differ";
  if (c.ref == 0) {
    EXPECT_EQ(c.diff, 0) << what << ": the CPU result is all zeros, this one is not";
  } else {
    EXPECT_LE(c.error(), rtol) << what << ": relative L2 error " << c.error() << " over "
                               << want.numel();
  }
}

}  // namespace

CaseTensor In(std::string name, Shape shape, Rng& rng, DType dtype, float stddev, float shift) {
  Buffer values = RandomBuffer(shape, rng, stddev);
  Buffer b(dtype, shape);
  for (int64_t i = 0; i < b.numel(); ++i) {
    const float v = values.f32()[i] + shift;
    if (dtype == DType::kF32) {
      b.f32()[i] = v;
    } else {
      CHECK(dtype == DType::kBF16) << "In: " << DTypeName(dtype);
      b.tensor().bf16()[i] = FloatToBF16(v);
    }
  }
  return {std::move(name), Role::kInput, std::move(b)};
}

CaseTensor Given(std::string name, Buffer contents, Role role) {
  return {std::move(name), role, std::move(contents)};
}

CaseTensor Out(std::string name, Shape shape, DType dtype, double rtol) {
  return {std::move(name), Role::kOutput, Buffer(dtype, shape), rtol};
}

CaseTensor InOut(std::string name, Shape shape, Rng& rng, DType dtype) {
  CaseTensor t = In(std::move(name), shape, rng, dtype);
  t.role = Role::kInOut;
  return t;
}

CaseTensor Scratch(std::string name, Shape shape) {
  return {std::move(name), Role::kScratch, Buffer(DType::kF32, shape)};
}

CaseTensor Absent(std::string name) { return {std::move(name), Role::kAbsent, Buffer()}; }

Buffer I64Values(Shape shape, const std::vector<int64_t>& values) {
  Buffer b(DType::kI64, shape);
  CHECK_EQ(static_cast<size_t>(b.numel()), values.size());
  std::memcpy(b.data(), values.data(), b.nbytes());
  return b;
}

Buffer U8Values(Shape shape, const std::vector<uint8_t>& values) {
  Buffer b(DType::kU8, shape);
  CHECK_EQ(static_cast<size_t>(b.numel()), values.size());
  std::memcpy(b.data(), values.data(), b.nbytes());
  return b;
}

Buffer Clone(const Tensor& host) {
  if (!host.defined()) return Buffer();
  Buffer b(host.dtype(), host.shape());
  if (b.nbytes() > 0) std::memcpy(b.data(), host.data(), b.nbytes());
  return b;
}

CaseTensor Duplicate(const CaseTensor& t) { return {t.name, t.role, Clone(t.host), t.rtol}; }

std::string Describe(const Shape& shape, DType dtype) {
  return shape.ToString() + " " + DTypeName(dtype);
}

CaseResult RunCase(const OpCase& c, const Context& ctx) {
  std::vector<Buffer> on_device;
  CaseTensors views;
  for (const CaseTensor& t : c.tensors) {
    if (t.role == Role::kAbsent) {
      on_device.emplace_back();
      views.emplace_back();
      continue;
    }
    const bool poisoned = t.role == Role::kOutput || t.role == Role::kScratch;
    const Buffer poison = poisoned ? Poisoned(t.host) : Buffer();
    on_device.push_back(ToDevice(ctx, poisoned ? poison.tensor() : t.host.tensor()));
    views.push_back(on_device.back().tensor());
  }
  CaseResult result;
  result.value = c.run(ctx, views);
  for (size_t k = 0; k < c.tensors.size(); ++k) {
    result.tensors.push_back(c.tensors[k].role == Role::kAbsent ? Buffer() : ToHost(ctx, views[k]));
  }
  return result;
}

void ExpectCpuDeterministicAndWritten(const OpCase& c) {
  const Context cpu = Context::Cpu();
  const CaseResult first = RunCase(c, cpu);
  const CaseResult second = RunCase(c, cpu);
  EXPECT_EQ(first.value, second.value) << c.label << ": the scalar result differs between runs";
  for (size_t k = 0; k < c.tensors.size(); ++k) {
    const CaseTensor& t = c.tensors[k];
    if (!Compared(t.role)) continue;
    const Buffer& a = first.tensors[k];
    const Buffer& b = second.tensors[k];
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0)
        << c.label << ": " << t.name << " differs between two CPU runs";
    if (!IsFloat(a.dtype())) continue;
    int64_t poisoned = 0;
    for (int64_t i = 0; i < a.numel(); ++i) poisoned += std::isnan(ValueAt(a, i)) ? 1 : 0;
    EXPECT_EQ(poisoned, 0) << c.label << ": " << poisoned << " of " << a.numel() << " elements of "
                           << t.name << " unwritten (NaN)";
  }
}

void ExpectMatchesCpu(const OpCase& c, const Context& ctx) {
  const CaseResult want = RunCase(c, Context::Cpu());
  const CaseResult got = RunCase(c, ctx);
  if (want.value != 0 || got.value != 0) {
    EXPECT_LE(std::abs(got.value - want.value), c.value_rtol * std::abs(want.value))
        << c.label << ": scalar result " << got.value << " vs the CPU's " << want.value;
  }
  for (size_t k = 0; k < c.tensors.size(); ++k) {
    const CaseTensor& t = c.tensors[k];
    if (!Compared(t.role)) continue;
    const double rtol = t.rtol > 0 ? t.rtol : (t.host.dtype() == DType::kBF16 ? 1e-2 : 1e-5);
    ExpectClose(got.tensors[k], want.tensors[k], rtol,
                c.label + ": " + t.name + " (" + DTypeName(t.host.dtype()) + ")");
  }
}

}  // namespace tigerfg::testing
