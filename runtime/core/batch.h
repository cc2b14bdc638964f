// runtime/core/batch.h — one (local) batch of training pairs as the model consumes it.
#pragma once

#include <cstdint>

#include "runtime/core/tensor.h"

namespace tigerfg {

struct Batch {
  Buffer query_images;       // [B, C, Hq, Wq] F32, normalised
  Buffer item_images;        // [B, C, Hi, Wi] F32, normalised
  Buffer title_ids;          // [B, L] I64; position 0 = [CLS] (id 1 in synthetic data), 0 = padding
  Buffer product_ids;        // [B] I64
  int64_t first_sample = 0;  // global index of row 0 in the run's sample order

  int64_t size() const { return query_images.shape().ndim() ? query_images.shape()[0] : 0; }
};

}  // namespace tigerfg
