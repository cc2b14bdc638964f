// tests/ops/backend_ops_test.cc — the backend harness (after ggml's test-backend-ops): every op
// of the table (ops/backend.h) has cases; every compiled backend fills every entry; each case
// runs deterministically on the CPU with every output written, and where a GPU is present the
// CUDA backend matches the CPU on it. Cases: tests/testing/backend_cases*.cc.
#include <gtest/gtest.h>

#include <iostream>
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

// One test per op of the table, over all its cases: the CPU twice, then CUDA against the CPU
// where a GPU is present and the CUDA backend takes the case's shape.
class BackendOpsTest : public ::testing::TestWithParam<int> {};

TEST_P(BackendOpsTest, CpuDeterministicAndCudaMatchesCpu) {
  const OpKind op = static_cast<OpKind>(GetParam());
  const bool gpu = BackendCompiled(Device::kCuda) && CudaAvailable();
  int cases = 0, on_gpu = 0;
  for (const OpCase& c : AllOpCases()) {
    if (c.op != op) continue;
    ++cases;
    SCOPED_TRACE(std::string(OpName(op)) + " " + c.label);
    testing::ExpectCpuDeterministicAndWritten(c);
    if (gpu && BackendFor(Device::kCuda).supports(op, c.shape)) {
      static const Context cuda = Context::Cuda(0);
      testing::ExpectMatchesCpu(c, cuda);
      ++on_gpu;
    }
  }
  EXPECT_GT(cases, 0) << OpName(op) << " has no harness case";
  std::cout << OpName(op) << ": " << cases << " cases on the CPU, " << on_gpu
            << (gpu ? " on CUDA against the CPU" : " on CUDA (no GPU here)") << "\n";
}

std::string OpTestName(const ::testing::TestParamInfo<int>& info) {
  return OpName(static_cast<OpKind>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllOps, BackendOpsTest, ::testing::Range(0, kOpCount), OpTestName);

}  // namespace
}  // namespace tigerfg::ops
