// runtime/data/shard_cache.h — lazily opened shards (file descriptor + a compact sample table),
// at most `capacity` at a time, least recently used closed first; shared by loader threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/data/tar_reader.h"

namespace tigerfg::data {

// One opened shard: the open file and a compact table of its samples (~80 bytes a sample; the
// tar reader's member table is dropped once this is built).
struct OpenShard {
  struct Member {
    int64_t offset = -1;  // of the data in the file; -1: the sample has no such member
    int64_t size = 0;
  };
  struct Sample {
    std::string key;
    Member query, item, json;  // KEY.query.jpg, KEY.item.jpg, KEY.json
  };
  TarReader reader;
  std::vector<Sample> samples;  // in the file order of their first member
};

class ShardCache {
 public:
  // Opens shard `s` (its file and sample table); called without the cache's lock held.
  using Loader = std::function<Status(int32_t s, OpenShard* shard)>;

  // At most `capacity` (>= 1) shards are open at once, counting those being read.
  ShardCache(int capacity, Loader loader) : capacity_(capacity), loader_(std::move(loader)) {}
  ShardCache(const ShardCache&) = delete;
  ShardCache& operator=(const ShardCache&) = delete;

  // A use of shard `s`: keeps it open (not evicted) until the handle is destroyed.
  class Handle {
   public:
    Handle(Handle&& other) noexcept : cache_(other.cache_), entry_(std::move(other.entry_)) {
      other.cache_ = nullptr;
    }
    ~Handle();
    const OpenShard& operator*() const;
    const OpenShard* operator->() const { return &**this; }

   private:
    friend class ShardCache;
    struct Entry;
    Handle(ShardCache* cache, std::shared_ptr<Entry> entry)
        : cache_(cache), entry_(std::move(entry)) {}
    ShardCache* cache_;
    std::shared_ptr<Entry> entry_;
  };

  // Opens shard `s` if needed (evicting the least recently used shard not in use; waits when
  // every open shard is in use). A failed open is not cached: the next Acquire retries it.
  StatusOr<Handle> Acquire(int32_t s);

  int open_shards() const;       // now
  int peak_open_shards() const;  // since construction
  int64_t loads() const;         // shard opens, reopens after eviction included

 private:
  friend class Handle;
  void Release(const std::shared_ptr<Handle::Entry>& entry);

  const int capacity_;
  Loader loader_;
  mutable std::mutex mu_;
  std::condition_variable released_;
  std::unordered_map<int32_t, std::shared_ptr<Handle::Entry>> open_;
  std::list<int32_t> lru_;  // front: most recently used
  int peak_ = 0;
  int64_t loads_ = 0;
};

}  // namespace tigerfg::data
