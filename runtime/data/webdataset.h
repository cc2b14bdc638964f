// runtime/data/webdataset.h — WebDataset-style shards: per sample KEY.query.jpg, KEY.item.jpg
// and KEY.json ({"title": "...", "product_id": N}), with one global sample index over all shards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
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

class WebDataset {
 public:
  // Indexes every shard. A truncated or corrupt shard keeps the complete members before the
  // damage (its samples that lost a member fail at Read) and is listed in shard_errors(); a
  // shard that cannot be opened at all is an error.
  static StatusOr<std::unique_ptr<WebDataset>> Open(const std::vector<std::string>& specs,
                                                    unsigned parts = kTrainParts);

  int64_t size() const { return static_cast<int64_t>(samples_.size()); }
  int num_shards() const { return static_cast<int>(shards_.size()); }
  const std::vector<std::string>& shard_errors() const { return shard_errors_; }
  // Shard path and key of sample `index` (for messages).
  std::string Where(int64_t index) const;

  // Reads sample `index` (thread-safe). A missing member or malformed JSON is an error naming
  // the shard and the key.
  StatusOr<RawSample> Read(int64_t index) const;

 private:
  struct SampleRef {
    int32_t shard;
    std::string key;
  };
  unsigned parts_ = kTrainParts;
  std::vector<TarReader> shards_;
  std::vector<SampleRef> samples_;
  std::vector<std::string> shard_errors_;
};

}  // namespace tigerfg::data
