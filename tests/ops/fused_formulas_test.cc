// tests/ops/fused_formulas_test.cc — the formulas the CPU ops and their CUDA twins must compute
// to the same bits, checked in a file built with -ffp-contract=off (tests/CMakeLists.txt) as nvcc's
// host or device pass may be: a multiply-add the compiler fused in one file and not in another (or
// on the GPU) gave different bits. The CUDA twins spell out the same fused multiply-adds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/images.h"
#include "ops/losses.h"
#include "runtime/core/buffer.h"

namespace tigerfg {
namespace {

// Every pixel value through ops::NormalizeImages (its own file, the build's contraction) equals
// NormalizedPixel in this file (no contraction) and one fused multiply-add: the formula
// ops/cuda/images.cu computes with __fmaf_rn.
TEST(FusedFormulas, NormalizedPixelIsOneFusedMultiplyAddWhereverItIsBuilt) {
  const ImageNorm norm = MakeImageNorm({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  Buffer pixels(DType::kU8, Shape{1, 3, 16, 16});
  auto* p = static_cast<uint8_t*>(pixels.data());
  for (int64_t i = 0; i < pixels.numel(); ++i) p[i] = static_cast<uint8_t>(i % 256);
  Buffer out(DType::kF32, pixels.shape());
  ops::NormalizeImages(Context::Cpu(), out.tensor(), pixels.tensor(), norm);
  int64_t two_rounding_differs = 0;
  for (int64_t i = 0; i < pixels.numel(); ++i) {
    const int c = static_cast<int>(i / 256);
    const float pixel = static_cast<float>(p[i]);
    const float fused = std::fma(pixel, norm.scale[c], -norm.shift[c]);
    ASSERT_EQ(NormalizedPixel(pixel, norm.scale[c], norm.shift[c]), fused) << "pixel " << i;
    ASSERT_EQ(out.f32()[i], fused) << "pixel " << i;
    const float product = pixel * norm.scale[c];  // rounded: this file does not contract
    two_rounding_differs += product - norm.shift[c] != fused ? 1 : 0;
  }
  // The check has teeth: two roundings (the CUDA kernel's former formula) differ somewhere.
  EXPECT_GT(two_rounding_differs, 0);
}

// LossTermsUpdate's weighted additions to the total are fused multiply-adds on the CPU, as in
// ops/cuda/losses.cu (__fma_rn); the other steps round once each.
TEST(FusedFormulas, LossTermsTotalAddsTheWeightedTermsFused) {
  const ops::LossTermWeights w = {0.7f, 1.3f, 0.45f, 0.25};
  const float row = 2.718f, col = 3.14f, srd = 0.577f, sdd = 1.618f;
  Buffer terms(DType::kF32, Shape{ops::kLossTermSlots});
  Buffer terms64(DType::kF32, Shape{ops::kLossTerm64Slots});
  Buffer loss_row(DType::kF32, Shape{1}), loss_col(DType::kF32, Shape{1});
  Buffer loss_srd(DType::kF32, Shape{1}), loss_sdd(DType::kF32, Shape{1});
  loss_row.f32()[0] = row;
  loss_col.f32()[0] = col;
  loss_srd.f32()[0] = srd;
  loss_sdd.f32()[0] = sdd;
  ops::LossTermsUpdate(Context::Cpu(), terms, terms64, loss_row, loss_col, loss_srd, loss_sdd, w);
  double got[4];
  std::memcpy(got, terms64.data(), sizeof(got));
  const double contrastive = 0.5 * (static_cast<double>(row) + static_cast<double>(col));
  const double s = w.srd_share * static_cast<double>(srd);
  double total = static_cast<double>(w.contrastive) * contrastive;
  total = std::fma(static_cast<double>(w.srd), s, total);
  total = std::fma(static_cast<double>(w.sdd), static_cast<double>(sdd), total);
  EXPECT_EQ(got[0], total);
  EXPECT_EQ(got[1], contrastive);
  EXPECT_EQ(got[2], s);
  EXPECT_EQ(got[3], static_cast<double>(sdd));
  EXPECT_EQ(terms.f32()[0], static_cast<float>(total));
}

}  // namespace
}  // namespace tigerfg
