// tests/core/cuda_profile_test.cc — the step timer and peak memory on a CUDA context: phases
// timed by events on the compute stream still partition the step, a device copy lands in its phase,
// and a device allocation raises the peak. Skipped without a GPU (or in CPU-only builds).
#include <gtest/gtest.h>

#include "runtime/core/context.h"
#include "runtime/core/peak_memory.h"
#include "runtime/core/step_timer.h"

#ifdef TIGERFG_WITH_CUDA
#include "runtime/core/buffer.h"
#endif

namespace tigerfg::profile {
namespace {

TEST(CudaProfile, EventPhasesPartitionTheStepAndMemoryPeaksWithAllocations) {
#ifndef TIGERFG_WITH_CUDA
  GTEST_SKIP() << "CPU-only build";
#else
  if (!CudaAvailable()) GTEST_SKIP() << "no GPU";
  const Context ctx = Context::Cuda(0);
  PeakMemory memory(ctx);
  EXPECT_STREQ(memory.source(), "cuda_device_used");
  const int64_t before = memory.peak_bytes();
  EXPECT_GT(before, 0);
  constexpr int64_t kFloats = int64_t{64} << 20;  // 256 MiB
  Buffer device(ctx, DType::kF32, Shape{kFloats});
  Buffer host(DType::kF32, Shape{kFloats});
  memory.Sample();
  EXPECT_GE(memory.peak_bytes(), before + kFloats * 4 - (int64_t{8} << 20));

  StepTimer timer(ctx);
  for (int step = 0; step < 2; ++step) {
    timer.BeginStep(step);
    timer.Enter(Phase::kForward);
    CopyFromHost(ctx, device, host);  // ordered on the compute stream
    timer.Enter(Phase::kOptimizer);
    const StepProfile& p = timer.EndStep();
    double sum = 0;
    for (double s : p.phase_s) {
      EXPECT_GE(s, 0);
      sum += s;
    }
    EXPECT_NEAR(sum, p.step_s, 1e-6);
    // 256 MiB over any host link takes well over 1 ms.
    EXPECT_GT(p.phase_s[static_cast<int>(Phase::kForward)], 1e-3) << "step " << step;
    EXPECT_GT(p.start_unix_ns, 0);
  }
#endif
}

}  // namespace
}  // namespace tigerfg::profile
