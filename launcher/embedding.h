// launcher/embedding.h — what `tigerfg eval` and `tigerfg embed` share: a serving model loaded
// from weights or a checkpoint, and one tower's embeddings of decoded samples.
#pragma once

#include <gflags/gflags.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "model/tigerfg_model.h"
#include "runtime/core/batch.h"
#include "runtime/core/status.h"

DECLARE_string(checkpoint);  // a checkpoint directory or root (instead of --weights)
DECLARE_int32(embed_batch);  // samples per forward pass

namespace tigerfg::launcher {

enum class Tower { kQuery, kItem };

// Samples read and decoded at a time (bounds the decoded images held in memory).
constexpr int64_t kReadRows = 512;

// The non-empty items of a comma-separated flag value ("a,,b" -> {"a", "b"}).
std::vector<std::string> SplitList(const std::string& text);

// "query" | "item".
StatusOr<Tower> ParseTower(const std::string& name);

// The model of cfg.model() on ctx (train.precision applies) planned for `batch` rows per forward,
// its parameters from exactly one of `weights` (safetensors, spec names) or `checkpoint` (a
// checkpoint directory or root). Teacher tensors are not needed for serving: they may be absent
// from the file.
StatusOr<std::unique_ptr<model::TigerFGModel>> LoadServingModel(const config::RunConfig& cfg,
                                                                const std::string& weights,
                                                                const std::string& checkpoint,
                                                                int64_t batch, const Context& ctx);

// Embeddings [n, E] of a batch's n rows through one tower, model.local_batch() rows per forward:
// query_images for the query tower; item_images and title_ids for the item tower.
Buffer EmbedBatch(model::TigerFGModel& model, const Batch& batch, Tower tower);

// The title ids [max_len] of `text` under the vocabulary; an error when a word is not in it.
StatusOr<std::vector<int64_t>> EncodeTitle(const std::string& vocab, const std::string& text,
                                           int max_len);

}  // namespace tigerfg::launcher
