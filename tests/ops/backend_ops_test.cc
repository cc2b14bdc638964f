// tests/ops/backend_ops_test.cc — the backend harness (after ggml's test-backend-ops): every op
// of the table (ops/backend.h) has cases; every compiled backend fills every entry; each case
// runs deterministically on the CPU with every output written, and where a GPU is present the
// CUDA backend matches the CPU on it. Cases: tests/testing/backend_cases*.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/backend.h"
#include "ops/flash_attention.h"
#include "runtime/core/context.h"
#include "tests/testing/op_harness.h"

namespace tigerfg::ops {
namespace {

using testing::AllOpCases;
using testing::OpCase;

std::vector<Device> CompiledDevices() {
  std::vector<Device> devices;
  for (Device d : {Device::kCpu, Device::kCuda}) {
    if (BackendCompiled(d)) devices.push_back(d);
  }
  return devices;
}

TEST(BackendTable, EveryOpHasAHarnessCase) {
  std::vector<int> cases_of(kOpCount, 0);
  for (const OpCase& c : AllOpCases()) {
    ASSERT_GE(static_cast<int>(c.op), 0);
    ASSERT_LT(static_cast<int>(c.op), kOpCount) << c.label << ": a case without an op";
    ++cases_of[static_cast<int>(c.op)];
  }
  for (int k = 0; k < kOpCount; ++k) {
    EXPECT_GE(cases_of[k], 2) << OpName(static_cast<OpKind>(k))
                              << " has fewer than two harness cases "
                                 "(tests/testing/backend_cases*.cc): add its shapes there";
  }
}

TEST(BackendTable, EveryCompiledBackendFillsEveryEntry) {
  for (Device device : CompiledDevices()) {
    const OpsBackend& backend = BackendFor(device);
    ASSERT_NE(backend.name, nullptr);
    EXPECT_NE(backend.supports, nullptr) << backend.name << ": no supports()";
    for (int k = 0; k < kOpCount; ++k) {
      EXPECT_TRUE(HasOp(backend, static_cast<OpKind>(k)))
          << backend.name << " leaves " << OpName(static_cast<OpKind>(k))
          << " null: register its implementation in ops/" << backend.name << "/backend.cc";
    }
  }
}

TEST(BackendTable, NamesAreDistinct) {
  for (int a = 0; a < kOpCount; ++a) {
    for (int b = a + 1; b < kOpCount; ++b) {
      EXPECT_STRNE(OpName(static_cast<OpKind>(a)), OpName(static_cast<OpKind>(b)));
    }
  }
  EXPECT_STREQ(OpName(OpKind::kLayerNormForward), "LayerNormForward");
}

TEST(BackendTable, CpuRunsEveryShape) {
  const OpsBackend& cpu = BackendFor(Device::kCpu);
  EXPECT_TRUE(cpu.supports(OpKind::kFlashAttentionForward, {DType::kF32, 200}));
  EXPECT_TRUE(cpu.supports(OpKind::kFlashAttentionBackward, {DType::kBF16, 80}));
}

TEST(BackendTable, CudaFusedAttentionTakesBf16UpToHeadDim64) {
  if (!BackendCompiled(Device::kCuda)) GTEST_SKIP() << "built without CUDA";
  const OpsBackend& cuda = BackendFor(Device::kCuda);
  for (OpKind op : {OpKind::kFlashAttentionForward, OpKind::kFlashAttentionBackward}) {
    EXPECT_TRUE(cuda.supports(op, {DType::kBF16, 16}));
    EXPECT_TRUE(cuda.supports(op, {DType::kBF16, kFlashMaxHeadDim}));
    EXPECT_FALSE(cuda.supports(op, {DType::kBF16, kFlashMaxHeadDim + 1}));
    EXPECT_FALSE(cuda.supports(op, {DType::kF32, 32}));
  }
  EXPECT_TRUE(cuda.supports(OpKind::kSelfAttentionForward, {DType::kF32, 128}));
}

class BackendOpsTest : public ::testing::TestWithParam<size_t> {
 protected:
  const OpCase& Case() const { return AllOpCases()[GetParam()]; }
};

TEST_P(BackendOpsTest, CpuIsDeterministicAndWritesEveryOutput) {
  SCOPED_TRACE(std::string(OpName(Case().op)) + " " + Case().label);
  testing::ExpectCpuDeterministicAndWritten(Case());
}

TEST_P(BackendOpsTest, CudaMatchesCpu) {
  if (!BackendCompiled(Device::kCuda)) GTEST_SKIP() << "built without CUDA";
  if (!CudaAvailable()) GTEST_SKIP() << "no GPU";
  const OpCase& c = Case();
  if (!BackendFor(Device::kCuda).supports(c.op, c.shape)) {
    GTEST_SKIP() << "the CUDA backend declines " << OpName(c.op) << " " << c.label;
  }
  SCOPED_TRACE(std::string(OpName(c.op)) + " " + c.label);
  static const Context gpu = Context::Cuda(0);
  testing::ExpectMatchesCpu(c, gpu);
}

// Test names: the op and the case's index ("LayerNormForward_37").
std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  return std::string(OpName(AllOpCases()[info.param].op)) + "_" + std::to_string(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllOps, BackendOpsTest, ::testing::Range(size_t{0}, AllOpCases().size()),
                         CaseName);

}  // namespace
}  // namespace tigerfg::ops
