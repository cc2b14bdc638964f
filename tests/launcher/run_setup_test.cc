// tests/launcher/run_setup_test.cc — the launcher's device choice: local_rank % visible GPUs.
#include "launcher/run_setup.h"

#include <gtest/gtest.h>

namespace tigerfg::launcher {
namespace {

TEST(RunSetup, GpuIsLocalRankModuloTheVisibleGpus) {
  // 8 ranks on a node that shows each of them all 8 GPUs.
  for (int r = 0; r < 8; ++r) EXPECT_EQ(GpuForLocalRank(r, 8), r);
  // Slurm --gpus-per-task=1 / CUDA_VISIBLE_DEVICES per task: every rank sees one GPU, index 0
  // (local rank 3 used to ask for GPU 3 and die in a CHECK).
  for (int r = 0; r < 8; ++r) EXPECT_EQ(GpuForLocalRank(r, 1), 0);
  EXPECT_EQ(GpuForLocalRank(5, 4), 1);  // two ranks per GPU
  EXPECT_EQ(GpuForLocalRank(3, 0), 0);  // no GPU: never divides by zero
}

}  // namespace
}  // namespace tigerfg::launcher
