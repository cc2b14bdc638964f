// runtime/data/sample_order.cc — shard permutations with prefix sums, window permutations, and
// their small caches (loader threads ask for nearby positions).
#include "runtime/data/sample_order.h"

#include <algorithm>

#include "runtime/core/rng.h"
#include "runtime/core/status.h"

namespace tigerfg::data {
namespace {

constexpr uint64_t kShardSalt = 0x7368617264ull;   // "shard"
constexpr uint64_t kWindowSalt = 0x77696e646full;  // "windo"
constexpr size_t kCachedEpochs = 2;
// Loader threads build a few batches ahead and bad-sample replacements look a little further:
// a handful of windows covers them.
constexpr size_t kCachedWindows = 8;

// Fisher-Yates over [0, n) from `rng`.
std::vector<int32_t> Permutation(int64_t n, Rng rng) {
  std::vector<int32_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = static_cast<int32_t>(i);
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.Int(0, i + 1)]);
  return perm;
}

}  // namespace

SampleOrder::SampleOrder(std::vector<int64_t> shard_sizes, uint64_t seed, int64_t window)
    : sizes_(std::move(shard_sizes)), seed_(seed), window_(window) {
  CHECK(window_ >= 1 && window_ <= INT32_MAX) << "shuffle window " << window_;
  for (int64_t s : sizes_) {
    CHECK_GE(s, 0);
    total_ += s;
  }
  CHECK_GT(total_, 0) << "an order over no samples";
}

std::shared_ptr<const SampleOrder::Epoch> SampleOrder::EpochAt(int64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = epochs_.find(epoch);
  if (it != epochs_.end()) return it->second;
  auto e = std::make_shared<Epoch>();
  e->shards = Permutation(static_cast<int64_t>(sizes_.size()),
                          Rng(HashMix(seed_, kShardSalt), static_cast<uint64_t>(epoch)));
  e->starts.resize(sizes_.size() + 1);
  for (size_t k = 0; k < sizes_.size(); ++k) e->starts[k + 1] = e->starts[k] + sizes_[e->shards[k]];
  epochs_[epoch] = e;
  while (epochs_.size() > kCachedEpochs) epochs_.erase(epochs_.begin());
  return e;
}

std::shared_ptr<const std::vector<int32_t>> SampleOrder::WindowAt(int64_t epoch, int64_t window) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key = std::make_pair(epoch, window);
  auto it = windows_.find(key);
  if (it != windows_.end()) return it->second;
  const int64_t length = std::min(window_, total_ - window * window_);
  auto perm = std::make_shared<const std::vector<int32_t>>(Permutation(
      length, Rng(HashMix(seed_, kWindowSalt),
                  HashMix(static_cast<uint64_t>(epoch), static_cast<uint64_t>(window)))));
  windows_[key] = perm;
  while (windows_.size() > kCachedWindows) windows_.erase(windows_.begin());
  return perm;
}

SampleOrder::Location SampleOrder::At(int64_t position) {
  CHECK_GE(position, 0);
  const int64_t epoch = position / total_, p = position % total_;
  const int64_t window = p / window_;
  const int64_t in_epoch = window * window_ + (*WindowAt(epoch, window))[p % window_];
  const std::shared_ptr<const Epoch> e = EpochAt(epoch);
  // The last k with starts[k] <= in_epoch (empty shards share their start with the next one).
  const size_t k =
      std::upper_bound(e->starts.begin(), e->starts.end(), in_epoch) - e->starts.begin() - 1;
  return {e->shards[k], in_epoch - e->starts[k]};
}

size_t SampleOrder::footprint_bytes() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t bytes = sizes_.capacity() * sizeof(int64_t);
  for (const auto& [epoch, e] : epochs_) {
    bytes += e->shards.capacity() * sizeof(int32_t) + e->starts.capacity() * sizeof(int64_t);
  }
  for (const auto& [key, perm] : windows_) bytes += perm->capacity() * sizeof(int32_t);
  return bytes;
}

}  // namespace tigerfg::data
