// runtime/data/sample_order.h — the training stream's two-level order: per epoch a permutation of
// the shards, then a permutation within each window of consecutive samples; O(shards) memory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace tigerfg::data {

// Stream position q -> (shard, sample within the shard), a pure function of (seed, shard sizes,
// window): world size, threads and the order positions are asked in do not change it.
//   epoch e = q / N (N = all samples), p = q % N;
//   the epoch's samples are its shards in the order of a permutation fixed by (seed, e), each
//   shard's samples in file order: a sequence of N;
//   that sequence is cut into windows of `window` samples (the last may be shorter), and window
//   w is read through a permutation of its length fixed by (seed, e, w):
//   q -> sequence[w * window + perm_{e,w}[p % window]], w = p / window.
// Every epoch visits every sample once. Memory: the shard sizes, the shard permutations and
// prefix sums of the latest epochs (O(shards)), and the latest windows' permutations (O(window)).
class SampleOrder {
 public:
  struct Location {
    int32_t shard = 0;   // index into the shard sizes given
    int64_t sample = 0;  // within the shard, file order
    bool operator==(const Location&) const = default;
  };

  // `shard_sizes[s]`: samples of shard s (>= 0, summing to > 0); window >= 1.
  SampleOrder(std::vector<int64_t> shard_sizes, uint64_t seed, int64_t window);

  int64_t size() const { return total_; }  // samples per epoch
  int64_t window() const { return window_; }
  // The sample at stream position q >= 0 (thread-safe).
  Location At(int64_t position);
  // Bytes of the order's tables now: bounded by O(shards + window), whatever the sample count.
  size_t footprint_bytes();

 private:
  struct Epoch {
    std::vector<int32_t> shards;  // [S] the epoch's shard order
    std::vector<int64_t> starts;  // [S + 1] first sequence position of each, in that order
  };
  std::shared_ptr<const Epoch> EpochAt(int64_t epoch);
  std::shared_ptr<const std::vector<int32_t>> WindowAt(int64_t epoch, int64_t window);

  std::vector<int64_t> sizes_;
  uint64_t seed_;
  int64_t window_;
  int64_t total_ = 0;

  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<const Epoch>> epochs_;  // the latest few
  std::map<std::pair<int64_t, int64_t>, std::shared_ptr<const std::vector<int32_t>>> windows_;
};

}  // namespace tigerfg::data
