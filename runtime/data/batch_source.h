// runtime/data/batch_source.h — where a rank's local batches come from: the deterministic
// synthetic source, or the WebDataset shard loader (data.train_shards). Both follow the global
// order of DESIGN.md §3: step k is global samples [kG, (k+1)G), rank r takes its contiguous slice.
#pragma once

#include <memory>

#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"
#include "runtime/core/status.h"

namespace tigerfg::train {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next local batch (global_batch / world rows). Two batches alternate: one stays alive and
  // unchanged through the Next after it, so a trainer can stage the next step's batch (see
  // TigerFGModel::StageInputs) while the step on the current one still runs.
  virtual StatusOr<Batch*> Next() = 0;
  // Global samples consumed so far (the resume point).
  virtual int64_t cursor() const = 0;
  // This rank's bad samples skipped and samples read so far (the trainer checks the budget,
  // data.max_bad_fraction, over all ranks); 0 for sources without bad samples.
  virtual int64_t bad_samples() const { return 0; }
  virtual int64_t seen_samples() const { return 0; }
  virtual const char* name() const = 0;
};

// Synthetic when data.train_shards is empty, else the shard loader. `start_cursor` resumes.
StatusOr<std::unique_ptr<BatchSource>> CreateBatchSource(const config::RunConfig& cfg, int rank,
                                                         int world, int64_t start_cursor);

}  // namespace tigerfg::train
