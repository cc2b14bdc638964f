// tests/cuda/context_test.cc — the CUDA context and device buffers themselves.
#include <gtest/gtest.h>

#include "ops/optim.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Gpu;

TEST(CudaContextTest, CreatesContextOnDeviceZero) {
  TIGERFG_REQUIRE_GPU();
  const Context ctx = Context::Cuda(0);
  EXPECT_TRUE(ctx.is_cuda());
  EXPECT_EQ(ctx.device(), Device::kCuda);
  EXPECT_NE(ctx.cuda(), nullptr);
}

TEST(CudaContextTest, DeviceBufferRoundTrips) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(101);
  const Buffer host = testing::RandomBuffer(Shape({3, 7, 5}), rng);
  Buffer dev(Gpu(), DType::kF32, host.shape());
  EXPECT_EQ(dev.tensor().device(), Device::kCuda);
  CopyFromHost(Gpu(), dev, host.tensor());
  Buffer back(DType::kF32, host.shape());
  CopyToHost(Gpu(), back.tensor(), dev);
  for (int64_t i = 0; i < host.numel(); ++i) ASSERT_EQ(back.f32()[i], host.f32()[i]) << i;
  Buffer moved = std::move(dev);
  EXPECT_EQ(dev.data(), nullptr);
  Buffer again(DType::kF32, host.shape());
  CopyToHost(Gpu(), again.tensor(), moved);
  for (int64_t i = 0; i < host.numel(); ++i) ASSERT_EQ(again.f32()[i], host.f32()[i]) << i;
}

}  // namespace
}  // namespace tigerfg
