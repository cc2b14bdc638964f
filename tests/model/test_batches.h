// tests/model/test_batches.h — a smaller tiny configuration and random batches for model tests.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"
#include "runtime/core/rng.h"

namespace tigerfg::testing {

// A smaller tiny: 16x16 images in 2x2 patches of 8, one block per tower, 5-token titles.
inline constexpr char kMiniOverrides[] =
    "model.query.image_size=16,model.query.width=16,model.query.depth=1,model.query.heads=2,"
    "model.item.image_size=16,model.item.width=16,model.item.depth=1,model.item.heads=2,"
    "model.text.vocab_size=32,model.text.max_len=5,model.text.width=12,model.text.depth=1,"
    "model.text.heads=2,model.teacher.image_size=16,model.teacher.width=8,model.ground_heads=2,"
    "model.embed_dim=8";

// Random images, titles of random length (CLS = 1, then ids >= 2, then padding 0) and product ids
// drawn from fewer products than samples, so some positives are shared.
inline Batch RandomBatch(const config::ModelConfig& cfg, int64_t b, uint64_t seed) {
  Rng rng(seed);
  Batch batch;
  const auto& q = cfg.query();
  const auto& it = cfg.item();
  const int64_t len = cfg.text().max_len();
  batch.query_images = Buffer(DType::kF32, Shape{b, q.channels(), q.image_size(), q.image_size()});
  batch.item_images =
      Buffer(DType::kF32, Shape{b, it.channels(), it.image_size(), it.image_size()});
  rng.FillNormal(batch.query_images.tensor());
  rng.FillNormal(batch.item_images.tensor());
  batch.title_ids = Buffer(DType::kI64, Shape{b, len});
  batch.product_ids = Buffer(DType::kI64, Shape{b});
  for (int64_t i = 0; i < b; ++i) {
    const int64_t used = rng.Int(2, len + 1);
    for (int64_t j = 0; j < len; ++j) {
      batch.title_ids.i64()[i * len + j] =
          j == 0 ? 1 : (j < used ? rng.Int(2, cfg.text().vocab_size()) : 0);
    }
    batch.product_ids.i64()[i] = rng.Int(0, std::max<int64_t>(1, b / 2));
  }
  if (cfg.srd_target() == config::ModelConfig::MASK) {
    // Product-box maps: positive shares of the item patches, each row summing to 1.
    const int64_t grid = it.image_size() / it.patch_size();
    batch.target_maps = Buffer(DType::kF32, Shape{b, grid * grid});
    float* maps = batch.target_maps.f32();
    for (int64_t i = 0; i < b; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < grid * grid; ++j) {
        maps[i * grid * grid + j] = static_cast<float>(0.05 + rng.Uniform());
        sum += maps[i * grid * grid + j];
      }
      for (int64_t j = 0; j < grid * grid; ++j) maps[i * grid * grid + j] /= sum;
    }
  }
  return batch;
}

// Rows [begin, begin + n) of every tensor of `batch` (target_maps too when present), copied;
// first_sample counts from the batch's.
inline Batch BatchRows(const Batch& batch, int64_t begin, int64_t n) {
  auto rows = [&](const Buffer& t) {
    std::vector<int64_t> dims = t.shape().dims();
    const size_t row_bytes = t.nbytes() / static_cast<size_t>(dims[0]);
    dims[0] = n;
    Buffer out(t.dtype(), Shape(dims));
    std::memcpy(out.data(), static_cast<const char*>(t.data()) + begin * row_bytes, out.nbytes());
    return out;
  };
  Batch out;
  out.query_images = rows(batch.query_images);
  out.item_images = rows(batch.item_images);
  out.title_ids = rows(batch.title_ids);
  out.product_ids = rows(batch.product_ids);
  if (batch.target_maps.data() != nullptr) out.target_maps = rows(batch.target_maps);
  out.first_sample = batch.first_sample + begin;
  return out;
}

}  // namespace tigerfg::testing
