// tests/ops/attention_cases.h — the attention tests' shapes and key-padding masks, shared by the
// unfused (attention_test.cc) and fused (flash_attention_test.cc) attention tests.
#pragma once

#include <cstdint>

#include "runtime/core/tensor.h"

namespace tigerfg::testing {

struct AttentionDims {
  int64_t batch, seq, heads, head_dim;
  int64_t width() const { return heads * head_dim; }
};

// key_valid[B, S] U8: sample 1 has its last two tokens padded, sample 2 (when batch > 2) is fully
// padded, the others see every key.
inline Buffer MakeKeyValid(const AttentionDims& n) {
  Buffer valid(DType::kU8, Shape({n.batch, n.seq}));
  auto* v = static_cast<uint8_t*>(valid.data());
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t s = 0; s < n.seq; ++s)
      v[b * n.seq + s] = b == 2 || (b == 1 && s >= n.seq - 2) ? 0 : 1;
  }
  return valid;
}

}  // namespace tigerfg::testing
