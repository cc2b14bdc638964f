// tests/cuda/input_ring_test.cc — the GPU input pipeline (issue #10 item 3): uint8 images staged
// through the pinned ring on its copy stream and normalised on the GPU equal the CPU op bit for
// bit, a full ring refills without losing a slot, and the model encodes a U8 batch (staged ahead or
// not, the ring wrapped over a batch staged ahead) exactly as its F32 twin.
#include "runtime/core/input_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "model/tigerfg_model.h"
#include "ops/images.h"
#include "tests/cuda/parity.h"
#include "tests/model/spec_runner.h"
#include "tests/model/test_batches.h"
#include "tests/testing/uint8_batches.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::Gpu;

std::vector<float> Floats(const Tensor& t) {
  Buffer host = ToHost(Gpu(), t);
  return std::vector<float>(host.f32(), host.f32() + host.numel());
}

TEST(InputRing, StagedPixelsNormaliseOnTheGpuLikeTheCpu) {
  TIGERFG_REQUIRE_GPU();
  const Shape shape{4, 3, 20, 20};
  const Shape odd{2, 3, 5, 7};  // odd planes: the scalar kernel
  InputRing ring(Gpu(),
                 InputRing::SlotBytes(
                     {static_cast<size_t>(shape.numel()), 13, static_cast<size_t>(odd.numel())}),
                 /*slots=*/2);
  const ImageNorm norm = MakeImageNorm({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  Rng rng(4);
  auto cpu = [&](std::vector<uint8_t> pixels, const Shape& like) {
    Buffer out(DType::kF32, like);
    ops::NormalizeImages(Cpu(), out.tensor(), Tensor(pixels.data(), DType::kU8, like), norm);
    return std::vector<float>(out.f32(), out.f32() + out.numel());
  };
  // Five stages through two slots: the ring wraps and every slot is refilled.
  for (int round = 0; round < 5; ++round) {
    std::vector<uint8_t> a(shape.numel()), b(odd.numel()), pad(13, 7);
    for (uint8_t& p : a) p = static_cast<uint8_t>(rng.Int(0, 256));
    for (uint8_t& p : b) p = static_cast<uint8_t>(rng.Int(0, 256));
    const std::vector<float> want_a = cpu(a, shape), want_b = cpu(b, odd);
    const int slot =
        ring.Stage({{a.data(), a.size()}, {pad.data(), pad.size()}, {b.data(), b.size()}});
    std::fill(a.begin(), a.end(), 0);  // the ring holds its own copy
    Buffer out_a(Gpu(), DType::kF32, shape), out_b(Gpu(), DType::kF32, odd);
    ops::NormalizeImages(Gpu(), out_a.tensor(),
                         Tensor(ring.Acquire(slot, 0), DType::kU8, shape, Device::kCuda), norm);
    ops::NormalizeImages(Gpu(), out_b.tensor(),
                         Tensor(ring.Acquire(slot, 2), DType::kU8, odd, Device::kCuda), norm);
    ring.Release(slot);
    EXPECT_EQ(Floats(out_a.tensor()), want_a) << "round " << round;
    EXPECT_EQ(Floats(out_b.tensor()), want_b) << "round " << round;
  }
}

TEST(InputRing, ModelEncodesPixelsLikeTheFloatBatch) {
  TIGERFG_REQUIRE_GPU();
  const config::ModelConfig cfg = testing::TinyModel(testing::kMiniOverrides);
  const Batch pixels = testing::WithRandomPixels(testing::RandomBatch(cfg, 4, /*seed=*/8), 9);
  Batch next = testing::WithRandomPixels(testing::RandomBatch(cfg, 4, /*seed=*/10), 11);
  next.first_sample = 4;
  model::TigerFGModel model(cfg, /*local_batch=*/4, Gpu());
  // The parameters live on the GPU: initialised on the host, then copied.
  std::vector<float> init(model.table().total_numel());
  model::InitParams(model.table(), cfg, /*seed=*/3, init.data());
  model.CopyParamsFromHost(init.data());
  auto embeddings = [&](const Batch& b) {
    model.EncodeForward(b);
    std::vector<float> q = Floats(model.query_emb()), e = Floats(model.item_emb());
    q.insert(q.end(), e.begin(), e.end());
    return q;
  };
  const std::vector<float> f32 = embeddings(testing::Normalised(pixels));
  const std::vector<float> f32_next = embeddings(testing::Normalised(next));
  EXPECT_EQ(embeddings(pixels), f32);  // staged inside EncodeForward
  model.StageInputs(next);             // staged one step ahead
  model.StageInputs(pixels);
  EXPECT_EQ(embeddings(next), f32_next);
  EXPECT_EQ(embeddings(pixels), f32);
  // Staged ahead, then the ring wraps under three encodes that stage inside EncodeForward: the
  // overwritten slot is forgotten and the batch staged again.
  model.StageInputs(next);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(embeddings(pixels), f32);
  EXPECT_EQ(embeddings(next), f32_next);
}

}  // namespace
}  // namespace tigerfg
