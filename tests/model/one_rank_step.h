// tests/model/one_rank_step.h — the one-rank training step from the model's public pieces (encode,
// losses against the local batch as the global one, backward), for model tests.
#pragma once

#include "model/tigerfg_model.h"
#include "runtime/core/batch.h"
#include "runtime/core/buffer.h"

namespace tigerfg::testing {

// Zeroes the gradients, then steps 1-5 of model/tigerfg_model.h with the gather as the identity.
// CPU models only (the batch's product ids are read where they are).
inline model::LossTerms OneRankStep(model::TigerFGModel& model, const Batch& batch) {
  const int64_t b = model.local_batch(), e = model.embed_dim();
  model.ZeroGrads();
  model.EncodeForward(batch);
  Buffer dq = Buffer::Zeros(Shape{b, e}), de = Buffer::Zeros(Shape{b, e});
  const model::LossTerms terms =
      model.LossForwardBackward(model.query_emb(), model.item_emb(), model.teacher_item(),
                                batch.product_ids, /*row0=*/0, dq, de);
  model.EncodeBackward(dq, de);
  return terms;
}

}  // namespace tigerfg::testing
