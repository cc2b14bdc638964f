// tests/testing/uint8_batches.h — uint8-image batches for the input pipeline's tests: random
// pixels, and the F32 twin the loader would have written (ops::NormalizeImages on the CPU).
#pragma once

#include <vector>

#include "ops/images.h"
#include "runtime/core/batch.h"
#include "runtime/core/rng.h"

namespace tigerfg::testing {

// A copy of `batch` with U8 images of random pixels [B, C, H, W] and its normalisation.
inline Batch WithRandomPixels(const Batch& batch, uint64_t seed) {
  Rng rng(seed);
  Batch out;
  const int64_t channels = batch.query_images.shape()[1];
  std::vector<float> mean, std;
  for (int64_t c = 0; c < channels; ++c) {
    mean.push_back(0.45f + 0.02f * static_cast<float>(c));
    std.push_back(0.22f + 0.01f * static_cast<float>(c));
  }
  out.image_norm = MakeImageNorm(mean, std);
  for (auto [dst, src] : {std::pair{&out.query_images, &batch.query_images},
                          std::pair{&out.item_images, &batch.item_images}}) {
    *dst = Buffer(DType::kU8, src->shape());
    auto* p = static_cast<uint8_t*>(dst->data());
    for (int64_t i = 0; i < dst->numel(); ++i) p[i] = static_cast<uint8_t>(rng.Int(0, 256));
  }
  out.title_ids = Buffer(DType::kI64, batch.title_ids.shape());
  std::copy_n(batch.title_ids.i64(), batch.title_ids.numel(), out.title_ids.i64());
  out.product_ids = Buffer(DType::kI64, batch.product_ids.shape());
  std::copy_n(batch.product_ids.i64(), batch.product_ids.numel(), out.product_ids.i64());
  out.first_sample = batch.first_sample;
  return out;
}

// The F32 batch of a U8 one: images normalised on the CPU, the rest copied.
inline Batch Normalised(const Batch& pixels) {
  Batch out;
  const Context cpu = Context::Cpu();
  for (auto [dst, src] : {std::pair{&out.query_images, &pixels.query_images},
                          std::pair{&out.item_images, &pixels.item_images}}) {
    *dst = Buffer(DType::kF32, src->shape());
    ops::NormalizeImages(cpu, dst->tensor(), src->tensor(), pixels.image_norm);
  }
  out.title_ids = Buffer(DType::kI64, pixels.title_ids.shape());
  std::copy_n(pixels.title_ids.i64(), pixels.title_ids.numel(), out.title_ids.i64());
  out.product_ids = Buffer(DType::kI64, pixels.product_ids.shape());
  std::copy_n(pixels.product_ids.i64(), pixels.product_ids.numel(), out.product_ids.i64());
  out.first_sample = pixels.first_sample;
  return out;
}

}  // namespace tigerfg::testing
