// runtime/data/synthetic_data.h — a deterministic synthetic source: sample i is a pure function
// of (seed, i), with enough structure (a product's query and item share a pattern and title
// tokens) that the contrastive loss can fall. Used by tests, `bench` and runs without shards.
#pragma once

#include <cstdint>

#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"

namespace tigerfg::train {

class SyntheticSource {
 public:
  SyntheticSource(const config::ModelConfig& model, const config::DataConfig& data, uint64_t seed);

  // Allocates a batch of `size` samples shaped for the model.
  Batch MakeBatch(int64_t size) const;
  // Fills `batch` with global samples [first, first + batch.size()).
  void Fill(Batch& batch, int64_t first) const;
  int64_t ProductOf(int64_t sample) const;

 private:
  config::ModelConfig model_;
  int64_t products_;
  uint64_t seed_;
};

}  // namespace tigerfg::train
