// runtime/core/batch.h — one (local) batch of training pairs as the model consumes it.
#pragma once

#include <cstdint>

#include "runtime/core/image_norm.h"
#include "runtime/core/tensor.h"

namespace tigerfg {

struct Batch {
  // [B, C, H, W] F32, normalised; or U8 pixels (the training loader's uint8_images: a quarter of
  // the bytes to copy to a GPU), which the model normalises with image_norm (ops::NormalizeImages,
  // bit-identical to the loader's F32 images).
  Buffer query_images;       // [B, C, Hq, Wq]
  Buffer item_images;        // [B, C, Hi, Wi]
  Buffer title_ids;          // [B, L] I64; position 0 = [CLS] (id 1 in synthetic data), 0 = padding
  Buffer product_ids;        // [B] I64
  int64_t first_sample = 0;  // global index of row 0 in the run's sample order
  ImageNorm image_norm;      // U8 images only: data.mean / data.std as scale and shift
  // [B, N] F32, N = item patches (row-major grid): the share of each patch the listing's product
  // box covers, rows summing to 1; SRD's target with model.srd_target MASK, else empty.
  Buffer target_maps;

  int64_t size() const { return query_images.shape().ndim() ? query_images.shape()[0] : 0; }
};

}  // namespace tigerfg
