// tests/cuda/cudnn_sdpa_test.cc — ops/cuda/cudnn_sdpa.h below the attention op: a failed
// workspace allocation must not leave a CUDA error for the fallback kernel.
#include "ops/cuda/cudnn_sdpa.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "runtime/core/cuda_context.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Gpu;

// Before the fix the failed cudaMallocAsync stayed the runtime's last error, and the fused
// kernel that runs instead aborted in its launch check.
TEST(CudaCudnnAttention, FailedWorkspaceLeavesNoCudaError) {
  TIGERFG_REQUIRE_GPU();
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const StatusOr<void*> huge = ops::cuda::CudnnSdpaWorkspace(Gpu(), int64_t{1} << 50);  // 1 PiB
  EXPECT_FALSE(huge.ok());
  EXPECT_EQ(cudaPeekAtLastError(), cudaSuccess);
  const StatusOr<void*> small = ops::cuda::CudnnSdpaWorkspace(Gpu(), int64_t{1} << 20);
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_EQ(cudaFreeAsync(small.value(), Gpu().cuda()->stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(Gpu().cuda()->stream), cudaSuccess);
}

}  // namespace
}  // namespace tigerfg
