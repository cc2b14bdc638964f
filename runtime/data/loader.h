// runtime/data/loader.h — the training data loader (DESIGN.md §3: one global order per
// (seed, epoch), rank slices, resumable cursor) and the evaluation-set reader.
//
// The global stream is SampleOrder's two-level order (sample_order.h): per epoch a permutation
// of the shards fixed by (seed, e), the shards' samples laid end to end and cut into windows of
// data.shuffle_window samples, each window read through a permutation fixed by (seed, e, w).
// Step k after a resume at cursor c covers positions [c + kG, c + (k+1)G); rank r takes
// [r G/W, (r+1) G/W) of it, so the order does not depend on the world size W and a cursor
// resumes exactly. A bad sample at position q is replaced by the next good one (q+1, q+2, ...)
// in the stream. Augmentation at position q draws from Rng(seed, q): independent of world size
// and threads. Memory per rank is O(shards + window): no table over all samples; shards are
// opened when first read, at most data.max_open_shards at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/batch.h"
#include "runtime/core/status.h"
#include "runtime/data/sample_decoder.h"
#include "runtime/data/sample_order.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"

namespace tigerfg::data {

struct LoaderOptions {
  std::vector<std::string> shards;  // specs: paths, globs, brace lists
  std::string vocab;                // vocab.txt
  TransformOptions transform;
  int64_t vocab_limit = 0;  // model.text.vocab_size: larger vocabularies are an error (0 = any)
  uint64_t seed = 0;
  int64_t global_batch = 8;
  int rank = 0;
  int world = 1;
  int64_t start_cursor = 0;  // global samples consumed before this loader (resume)
  int threads = 2;           // 0: batches are built on the caller's thread
  int prefetch = 4;          // batches built ahead, at most
  double max_bad_fraction = 0.001;
  int64_t bad_check_min_seen = 1000;
  int64_t shuffle_window = 4096;  // data.shuffle_window: samples per shuffled window
  int max_open_shards = 64;       // data.max_open_shards
  // Training batches carry U8 pixels and Batch::image_norm (the model normalises them; images
  // that need a resize are rounded to 8 bits first). False: F32 normalised images.
  bool uint8_images = false;
};

// Options from a run config (model sizes, data.*, train.seed/global_batch) for rank/world.
StatusOr<LoaderOptions> LoaderOptionsFromConfig(const config::RunConfig& config, int rank,
                                                int world);

class DataLoader {
 public:
  static StatusOr<std::unique_ptr<DataLoader>> Create(const LoaderOptions& options);
  ~DataLoader();

  // This rank's next local batch (global_batch / world rows). An error when the bad-sample
  // budget is spent (bad > max_bad_fraction * max(seen, bad_check_min_seen)) or no good
  // sample is found near a position; the loader is then finished.
  StatusOr<Batch> NextBatch();

  // Global samples consumed through the last batch returned: the resume point to checkpoint.
  int64_t cursor() const { return cursor_; }
  int64_t local_batch() const { return local_batch_; }
  int64_t dataset_size() const { return dataset_->size(); }
  const WebDataset& dataset() const { return *dataset_; }
  // Bytes of the order's tables (O(shards + window), not O(samples)).
  size_t order_footprint_bytes() const { return order_->footprint_bytes(); }
  int64_t bad_samples() const { return bad_; }    // this rank's, since Create
  int64_t seen_samples() const { return seen_; }  // good + bad reads, this rank's
  // Sample index at global stream position q (exposed for tests and tools).
  int64_t SampleAt(int64_t position);

 private:
  struct Built {
    Status status;
    Batch batch;
    int64_t bad = 0;
    std::string last_bad;  // the last bad sample's message, for the stop error
  };
  DataLoader() = default;
  Built Build(int64_t step);
  void WorkerLoop();

  LoaderOptions options_;
  std::unique_ptr<WebDataset> dataset_;
  std::unique_ptr<SampleOrder> order_;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::unique_ptr<SampleDecoder> decoder_;
  int64_t local_batch_ = 0;
  int64_t cursor_ = 0;
  int64_t bad_ = 0;
  int64_t seen_ = 0;
  std::string last_bad_;
  bool failed_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t next_build_ = 0;  // steps since Create
  int64_t next_return_ = 0;
  std::map<int64_t, Built> ready_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// Which half of an evaluation set.
enum class EvalPart { kQueries, kGallery };

// An evaluation set read in order without augmentation: DIR/queries-*.tar (query.jpg + json
// with product_id) or DIR/gallery-*.tar (item.jpg + json with title and product_id), each shard
// with its index (`tigerfg data fmnist` writes them). A bad sample is an error: metrics need
// every record.
class EvalSet {
 public:
  static StatusOr<std::unique_ptr<EvalSet>> Open(const std::string& dir, EvalPart part,
                                                 const LoaderOptions& options);
  int64_t size() const { return dataset_->size(); }
  // Rows [begin, end): queries fill query_images and product_ids; the gallery fills
  // item_images, title_ids and product_ids (the other buffers stay empty, so the row count
  // is product_ids.shape()[0]). Decoded in parallel with OpenMP.
  StatusOr<Batch> Read(int64_t begin, int64_t end) const;

 private:
  EvalPart part_ = EvalPart::kQueries;
  std::unique_ptr<WebDataset> dataset_;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::unique_ptr<SampleDecoder> decoder_;
};

}  // namespace tigerfg::data
