// runtime/data/shard_cache.cc — the open-shard LRU: a strict bound on open files, loads outside
// the cache's lock (one thread loads a shard while the others read theirs).
#include "runtime/data/shard_cache.h"

#include <algorithm>

namespace tigerfg::data {

struct ShardCache::Handle::Entry {
  int32_t id = 0;
  int users = 0;                       // handles alive (guarded by the cache's lock)
  std::list<int32_t>::iterator place;  // in lru_
  std::mutex load_mu;                  // the first user loads; the others wait here
  bool loaded = false;
  Status status;
  OpenShard shard;
};

const OpenShard& ShardCache::Handle::operator*() const { return entry_->shard; }

ShardCache::Handle::~Handle() {
  if (cache_ != nullptr) cache_->Release(entry_);
}

void ShardCache::Release(const std::shared_ptr<Handle::Entry>& entry) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --entry->users;
  }
  released_.notify_all();
}

StatusOr<ShardCache::Handle> ShardCache::Acquire(int32_t s) {
  std::shared_ptr<Handle::Entry> entry;
  std::unique_lock<std::mutex> lock(mu_);
  while (entry == nullptr) {
    auto it = open_.find(s);
    if (it != open_.end()) {
      entry = it->second;
      lru_.splice(lru_.begin(), lru_, entry->place);
    } else if (static_cast<int>(open_.size()) < capacity_) {
      entry = std::make_shared<Handle::Entry>();
      entry->id = s;
      lru_.push_front(s);
      entry->place = lru_.begin();
      open_[s] = entry;
      ++loads_;
      peak_ = std::max(peak_, static_cast<int>(open_.size()));
    } else {
      // Close the least recently used shard nobody is reading; wait when all are being read.
      auto victim = std::find_if(lru_.rbegin(), lru_.rend(),
                                 [&](int32_t id) { return open_.at(id)->users == 0; });
      if (victim == lru_.rend()) {
        released_.wait(lock);
      } else {
        open_.erase(*victim);
        lru_.erase(std::next(victim).base());
      }
    }
  }
  ++entry->users;
  lock.unlock();
  Handle handle(this, entry);
  std::lock_guard<std::mutex> load(entry->load_mu);
  if (!entry->loaded) {
    entry->status = loader_(s, &entry->shard);
    entry->loaded = true;
  }
  if (!entry->status.ok()) {
    std::lock_guard<std::mutex> relock(mu_);
    auto it = open_.find(s);
    if (it != open_.end() && it->second == entry) {  // not cached: the next Acquire retries
      lru_.erase(entry->place);
      open_.erase(it);
    }
    return entry->status;
  }
  return handle;
}

int ShardCache::open_shards() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(open_.size());
}

int ShardCache::peak_open_shards() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

int64_t ShardCache::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

}  // namespace tigerfg::data
