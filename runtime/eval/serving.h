// runtime/eval/serving.h — what eval and embed share: a serving model loaded from weights or a
// checkpoint, and one tower's embeddings of decoded samples.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "model/tigerfg_model.h"
#include "runtime/core/batch.h"
#include "runtime/core/buffer.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"

namespace tigerfg::eval {

enum class Tower { kQuery, kItem };

// Samples read and decoded at a time (bounds the decoded images held in memory).
constexpr int64_t kReadRows = 512;

// Where a serving model's parameters come from: exactly one of `weights` (safetensors, spec
// names) or `checkpoint` (a checkpoint directory or root); `batch` rows per forward.
struct ServingOptions {
  std::string weights, checkpoint;
  int64_t batch = 64;
};

// The model of cfg.model() on ctx (train.precision applies) planned for options.batch rows per
// forward. Teacher tensors are not needed for serving: they may be absent from the file.
StatusOr<std::unique_ptr<model::TigerFGModel>> LoadServingModel(const config::RunConfig& cfg,
                                                                const ServingOptions& options,
                                                                const Context& ctx);

// Embeddings [n, E] of a batch's n rows through one tower, model.local_batch() rows per forward:
// query_images for the query tower; item_images and title_ids for the item tower.
Buffer EmbedBatch(model::TigerFGModel& model, const Batch& batch, Tower tower);

// The title ids [max_len] of `text` under the vocabulary; an error when a word is not in it.
StatusOr<std::vector<int64_t>> EncodeTitle(const std::string& vocab, const std::string& text,
                                           int max_len);

}  // namespace tigerfg::eval
