// runtime/data/webdataset.h — WebDataset-style shards: per sample KEY.query.jpg, KEY.item.jpg
// and KEY.json ({"title": "...", "product_id": N}), with one global sample index over all shards;
// O(shards) memory at start-up, shards opened lazily with a bounded number open at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/data/shard_cache.h"
#include "runtime/data/tar_reader.h"

namespace tigerfg::data {

// Expands shard specs in order: `{000..009}` numeric ranges (zero-padded to the width of the
// first bound) and `{a,b}` lists, then glob(3) patterns (sorted matches; a pattern that matches
// nothing is an error; shard indexes, *.idx, are skipped), then plain paths (which must exist).
StatusOr<std::vector<std::string>> ExpandShardSpecs(const std::vector<std::string>& specs);
// Brace expansion alone (exposed for tests).
StatusOr<std::vector<std::string>> ExpandBraces(const std::string& spec);

// WebDataset's convention: the key is the member path up to the first '.' of its basename, the
// extension what follows; false when the basename has no such dot.
bool SplitSampleMember(const std::string& name, std::string* key, std::string* ext);

// Which members a sample must have; the JSON is always required.
enum SampleParts : unsigned {
  kQueryImage = 1,
  kItemImage = 2,
  kTrainParts = kQueryImage | kItemImage,
};

// One sample's undecoded bytes and parsed metadata.
struct RawSample {
  std::string shard;  // path
  std::string key;
  std::string query_jpeg;  // empty unless kQueryImage was asked for
  std::string item_jpeg;   // empty unless kItemImage was asked for
  std::string title;       // "" when the JSON has none (query-only records)
  int64_t product_id = -1;
  // The JSON's target_box [y0, x0, y1, x1) on its image_size canvas, when both are there as
  // integers (target_box_size 0 otherwise): SRD's mask target (runtime/data/target_map.h).
  int target_box[4] = {0, 0, 0, 0};
  int target_box_size = 0;
  std::string where() const { return shard + ":" + key; }
};

// How a dataset opens its shards.
struct DatasetOptions {
  // Every shard must have its index (SHARD.idx): start-up reads each index's header only (no tar
  // scan). False: a shard without one is scanned at start-up, tolerantly (tests and tools).
  bool require_index = true;
  // Shards open at once (file descriptors and loaded indexes), least recently used closed first.
  int max_open_shards = 64;
};

class WebDataset {
 public:
  // Start-up: each shard's index header (sample count) is read and checked against the shard;
  // a shard is opened, and its full index loaded, only when one of its samples is first read.
  // Missing (when required), stale and foreign indexes are errors naming the file. Scanned
  // shards (require_index false, no index): a truncated or corrupt one keeps the complete
  // members before the damage (its samples that lost a member fail at Read) and is listed in
  // shard_errors(); one that cannot be opened at all is an error.
  static StatusOr<std::unique_ptr<WebDataset>> Open(const std::vector<std::string>& specs,
                                                    unsigned parts = kTrainParts,
                                                    const DatasetOptions& options = {});

  int64_t size() const { return starts_.back(); }
  int num_shards() const { return static_cast<int>(paths_.size()); }
  const std::string& shard_path(int s) const { return paths_[s]; }
  // Samples per shard, in the order the specs name them: [num_shards()].
  std::vector<int64_t> shard_sizes() const;
  // Sample `index` of the whole dataset: shards in spec order, each shard's samples in file order.
  int64_t GlobalIndex(int32_t shard, int64_t sample) const { return starts_[shard] + sample; }
  const std::vector<std::string>& shard_errors() const { return shard_errors_; }
  // Shard path and key of sample `index` (for messages; opens the shard when needed).
  std::string Where(int64_t index) const;

  // Reads sample `index` (thread-safe). A missing member or malformed JSON is an error naming
  // the shard and the key.
  StatusOr<RawSample> Read(int64_t index) const;

  // Shards open now, the most ever open at once, and shard opens so far (tests, bench).
  int open_shards() const { return cache_->open_shards(); }
  int peak_open_shards() const { return cache_->peak_open_shards(); }
  int64_t shard_loads() const { return cache_->loads(); }

 private:
  Status LoadShard(int32_t s, OpenShard* shard) const;

  unsigned parts_ = kTrainParts;
  std::vector<std::string> paths_;
  std::vector<int64_t> starts_{0};  // [S + 1]: first global index of each shard
  std::vector<bool> indexed_;       // [S]: opened through SHARD.idx, else scanned
  std::vector<std::string> shard_errors_;
  std::unique_ptr<ShardCache> cache_;
};

// The sample keys of `members`, each once, in the order of their first member.
std::vector<std::string> SampleKeys(const std::vector<TarMember>& members);

}  // namespace tigerfg::data
