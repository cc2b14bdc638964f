// runtime/data/batch_source.cc — synthetic and shard-backed batch sources.
#include "runtime/data/batch_source.h"

#include "runtime/data/loader.h"
#include "runtime/data/synthetic_data.h"

namespace tigerfg::train {

namespace {

class SyntheticBatchSource : public BatchSource {
 public:
  SyntheticBatchSource(const config::RunConfig& cfg, int rank, int world, int64_t cursor)
      : source_(cfg.model(), cfg.data(), static_cast<uint64_t>(cfg.train().seed())),
        global_batch_(cfg.train().global_batch()),
        local_batch_(global_batch_ / world),
        rank_(rank),
        cursor_(cursor),
        batches_{source_.MakeBatch(local_batch_), source_.MakeBatch(local_batch_)} {}

  StatusOr<Batch*> Next() override {
    Batch& batch = batches_[next_];
    next_ ^= 1;
    source_.Fill(batch, cursor_ + rank_ * local_batch_);
    cursor_ += global_batch_;
    return &batch;
  }
  int64_t cursor() const override { return cursor_; }
  const char* name() const override { return "synthetic"; }

 private:
  SyntheticSource source_;
  int64_t global_batch_, local_batch_;
  int rank_;
  int64_t cursor_;
  Batch batches_[2];  // alternate (BatchSource::Next)
  int next_ = 0;
};

class ShardBatchSource : public BatchSource {
 public:
  explicit ShardBatchSource(std::unique_ptr<data::DataLoader> loader)
      : loader_(std::move(loader)) {}

  StatusOr<Batch*> Next() override {
    Batch& batch = batches_[next_];
    TIGERFG_ASSIGN_OR_RETURN(batch, loader_->NextBatch());
    next_ ^= 1;
    return &batch;
  }
  int64_t cursor() const override { return loader_->cursor(); }
  int64_t bad_samples() const override { return loader_->bad_samples(); }
  int64_t seen_samples() const override { return loader_->seen_samples(); }
  const char* name() const override { return "shards"; }

 private:
  std::unique_ptr<data::DataLoader> loader_;
  Batch batches_[2];  // alternate (BatchSource::Next)
  int next_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<BatchSource>> CreateBatchSource(const config::RunConfig& cfg, int rank,
                                                         int world, int64_t start_cursor) {
  if (cfg.data().train_shards_size() == 0 &&
      cfg.model().srd_target() == config::ModelConfig::MASK) {
    return Status::Error(
        "model.srd_target: MASK needs data.train_shards whose JSON records each listing's "
        "target_box (the synthetic source has no product boxes)");
  }
  if (cfg.data().train_shards_size() == 0)
    return std::unique_ptr<BatchSource>(
        std::make_unique<SyntheticBatchSource>(cfg, rank, world, start_cursor));
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions options,
                           data::LoaderOptionsFromConfig(cfg, rank, world));
  options.start_cursor = start_cursor;
  // The trainer checks data.max_bad_fraction over the whole job (bad_samples/seen_samples summed
  // over the ranks), so a rank's own loader does not stop on its share alone: with a fraction of
  // 1 its budget, max(seen, min_seen), is never exceeded.
  options.max_bad_fraction = 1.0;
  // The model normalises (ops::NormalizeImages, bit-identical): a GPU copies a quarter of the
  // bytes.
  options.uint8_images = true;
  TIGERFG_ASSIGN_OR_RETURN(auto loader, data::DataLoader::Create(options));
  return std::unique_ptr<BatchSource>(std::make_unique<ShardBatchSource>(std::move(loader)));
}

}  // namespace tigerfg::train
