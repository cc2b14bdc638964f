// runtime/eval/embed.h — `tigerfg embed` as a library call: catalogue (or query) embeddings for an
// index build, as FILE.npy (float32 [n, E]) and FILE.keys.tsv (key, product_id per line) in sample
// order. With several ranks each embeds a contiguous share and rank 0 writes the gathered file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "configs/tigerfg.pb.h"
#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/eval/serving.h"

namespace tigerfg::eval {

struct EmbedOptions {
  std::vector<std::string> shard_specs;  // paths, globs, {a,b} / {000..009}; at least one
  Tower tower = Tower::kItem;            // query: KEY.query.jpg; item: KEY.item.jpg + title
  ServingOptions serving;
  std::string out;  // FILE or FILE.npy
};

struct EmbedSummary {
  int64_t samples = 0, dims = 0;
  std::string base;  // FILE: the outputs are base.npy and base.keys.tsv
};

// A collective: every rank of `comm` (host buffers) calls it; the towers run on ctx. One rank's
// failure ends every rank with an error.
StatusOr<EmbedSummary> RunEmbed(const config::RunConfig& cfg, const EmbedOptions& options,
                                comm::Communicator& comm, const Context& ctx);

}  // namespace tigerfg::eval
