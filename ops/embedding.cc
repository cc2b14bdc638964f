// ops/embedding.cc — the public embedding ops: shapes checked once, then the device's backend
// (the CPU backend also checks every id; the data pipeline validates them before the device).
#include "ops/embedding.h"

#include "ops/backend.h"

namespace tigerfg::ops {

void EmbeddingForward(const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table) {
  CHECK_EQ(table.ndim(), 2) << "embedding: table must be [V, D], got " << table.shape().ToString();
  const int64_t D = table.dim(1), T = ids.numel();
  CHECK(out.ndim() >= 1 && out.dim(-1) == D && out.numel() == T * D)
      << "embedding: out " << out.shape().ToString() << " for ids " << ids.shape().ToString()
      << " and table " << table.shape().ToString();
  BackendForOp(ctx, OpKind::kEmbeddingForward).embedding_forward(ctx, out, ids, table);
}

void EmbeddingBackward(const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids) {
  CHECK_EQ(dtable.ndim(), 2) << "embedding: dtable must be [V, D], got "
                             << dtable.shape().ToString();
  const int64_t D = dtable.dim(1), T = ids.numel();
  CHECK(dout.ndim() >= 1 && dout.dim(-1) == D && dout.numel() == T * D)
      << "embedding: dout " << dout.shape().ToString() << " for ids " << ids.shape().ToString()
      << " and dtable " << dtable.shape().ToString();
  BackendForOp(ctx, OpKind::kEmbeddingBackward).embedding_backward(ctx, dtable, dout, ids);
}

}  // namespace tigerfg::ops
