// ops/embedding.h — token embedding lookup (nn.Embedding).
#pragma once
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// out[B, L, D] = table[ids[B, L]]; ids are I64 in [0, V). An id out of range is a broken
// invariant (the data pipeline validates ids).
void EmbeddingForward(const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table);

// dtable[V, D] accumulates (+=) dout[B, L, D] at the rows named by ids.
void EmbeddingBackward(const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids);

}  // namespace tigerfg::ops
