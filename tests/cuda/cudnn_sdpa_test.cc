// tests/cuda/cudnn_sdpa_test.cc — ops/cuda/cudnn_sdpa.h below the attention op: the SDPA graphs'
// tensor and operation descriptors checked by the installed cuDNN on the host (no GPU needed),
// and a failed workspace allocation that must not leave a CUDA error for the fallback kernel.
#include "ops/cuda/cudnn_sdpa.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <iostream>
#include <string>

#include "runtime/core/cuda_context.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Gpu;

// cuDNN validates the attributes of both operations, the forward's shapes and its graph at
// finalize (Q/K/V as strided views of qkv[B, S, 3, H, d], O [B, S, H, d], stats [B, H, S, 1]
// fp32, the scale by value); this runs without a device. The backward's operation must
// finalize; its graph may be declined (cuDNN 9.19 has no SDPA_BWD graph: the fused kernel's
// backward runs). Not in CudaCudnnAttention*: it proves nothing about a GPU (gpu_check.sh's
// CUDNN verdict).
TEST(CudnnSdpaDescriptors, ForwardAndBackwardFinalizeOnTheHost) {
  if (Status lib = ops::cuda::CudnnSdpaLibrary(); !lib.ok()) GTEST_SKIP() << lib.message();
  for (bool backward : {false, true}) {
    for (auto [B, S, H, d] : {std::array<int64_t, 4>{1, 197, 12, 64}, {3, 50, 4, 32}}) {
      const Status s = ops::cuda::CudnnSdpaDescribe(B, S, H, d, backward);
      if (backward && !s.ok() &&
          s.message().find("finalizing the SDPA operation graph") != std::string::npos) {
        std::cout << "cuDNN declines the backward's graph: " << s.message() << "\n";
        continue;
      }
      EXPECT_TRUE(s.ok()) << (backward ? "backward" : "forward") << " B " << B << " S " << S
                          << " H " << H << " d " << d << ": " << s.message();
    }
  }
}

// A descriptor cuDNN rejects is a Status with cuDNN's own reason after the status code.
TEST(CudnnSdpaDescriptors, RejectedDescriptorSaysWhy) {
  if (Status lib = ops::cuda::CudnnSdpaLibrary(); !lib.ok()) GTEST_SKIP() << lib.message();
  const Status s = ops::cuda::CudnnSdpaDescribe(1, 10, 2, /*head_dim=*/-8, /*backward=*/false);
  ASSERT_FALSE(s.ok());
  const size_t code = s.message().find("BAD_PARAM (2000): ");
  ASSERT_NE(code, std::string::npos) << s.message();
  EXPECT_GT(s.message().size(), code + 18) << s.message();
}

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
