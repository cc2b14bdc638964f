// configs/config.h — loading, overriding, validating and printing a RunConfig (tigerfg.proto),
// and the JSON of its model section that the spec's TigerFGConfig.from_dict reads.
#pragma once

#include <cstdint>
#include <string>

#include "configs/tigerfg.pb.h"
#include "runtime/core/status.h"

namespace tigerfg::config {

// Reads the text-format RunConfig at `path`, applies `overrides`, fills the defaults that depend
// on other fields (data mean/std per channel) and validates. `overrides` is a comma-separated
// list of `a.b.c=value`: any scalar field at any depth; a repeated field is replaced by the
// `;`-separated values (`data.mean=0.5;0.4;0.3`); a sub-message is created when a field inside it
// is set; `model.teacher=none` removes a sub-message (here: disables distillation). Commas inside
// braces belong to the value (`data.train_shards=shard-{a,b}.tar`).
StatusOr<RunConfig> LoadConfig(const std::string& path, const std::string& overrides = "");

// Parses text-format `text`; errors name `source_name`, the line and the column.
StatusOr<RunConfig> ParseConfigText(const std::string& text, const std::string& source_name);

// Applies `overrides` (the LoadConfig syntax) to `config`; errors name the override.
Status ApplyOverrides(const std::string& overrides, RunConfig* config);

// Fills defaults that depend on other fields: empty data mean/std become 0.5 per query channel.
void FillDependentDefaults(RunConfig* config);

// Every impossible value is an error naming the field: "model.text.heads: 5 does not divide
// width 48". The model section must hold query, item and text; an absent teacher is allowed.
// Sizes have upper limits (README "Config limits"), and a valid config must fit this machine's
// memory at one sample per rank (CheckMemoryFits with PhysicalMemoryBytes()).
Status ValidateConfig(const RunConfig& config);

// Parameter counts from the model sizes alone (model::BuildParamTable's, without building it).
struct ParamCounts {
  double trainable = 0, frozen = 0;  // doubles: absurd sizes must not overflow
};
ParamCounts CountParams(const ModelConfig& model);

// The memory one training rank needs, in bytes, estimated from the sizes before allocating: a
// lower bound (small scratch tensors are left out), so a config it rejects cannot run.
struct MemoryEstimate {
  double state_bytes = 0;                  // fp32 parameters, gradients, AdamW moments
  double activation_bytes_per_sample = 0;  // per sample of the rank's batch
  double global_batch_bytes = 0;           // the gathered embeddings of the global batch
  double total(int64_t local_batch) const {
    return state_bytes + global_batch_bytes + activation_bytes_per_sample * local_batch;
  }
};
MemoryEstimate EstimateMemory(const RunConfig& config);

// This machine's physical memory (sysconf); 0 when unknown.
uint64_t PhysicalMemoryBytes();

// An error naming the size field that matters most when the estimate at `local_batch` samples
// per rank exceeds `machine_bytes`: "model.query.depth=1000000: the model needs 2.1 TiB to train
// (...); this machine has 23.4 GiB". ValidateConfig checks one sample per rank (the world size is
// not known yet); a caller that knows its per-rank batch can check that too.
Status CheckMemoryFits(const RunConfig& config, double machine_bytes, int64_t local_batch = 1);

// {"query": {...}, "item": {...}, "text": {...}, "teacher": {...} | null, "ground_layers": ...}:
// every field written explicitly, floats as the exact value of the float32 the runtime uses.
std::string ModelConfigToSpecJson(const ModelConfig& model);

// Text format with every field of every present section written explicitly (defaults included),
// so a checkpoint manifest does not depend on the defaults of the binary that reads it.
std::string ConfigToText(const RunConfig& config);

}  // namespace tigerfg::config
