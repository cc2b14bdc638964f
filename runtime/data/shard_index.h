// runtime/data/shard_index.h — SHARD.idx beside a tar shard: its member offsets and sizes and
// its samples' product ids, so ranks open shards without scanning every tar header.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/data/tar_reader.h"

namespace tigerfg::data {

// What a shard index holds. The shard's base name, size and mtime tie the index to the one
// version of the one shard it was made from.
struct ShardIndex {
  std::string shard_name;  // base name of the shard, e.g. "train-000000.tar"
  int64_t shard_size = 0;
  int64_t shard_mtime_ns = 0;
  std::vector<TarMember> members;                            // in file order
  std::vector<std::pair<std::string, int64_t>> product_ids;  // sample key -> product_id
};

// "SHARD.idx": the shard's path with ".idx" appended (shard globs like *.tar do not match it).
std::string ShardIndexPath(const std::string& shard_path);

// Scans `shard_path` and writes its index (through a temporary file renamed into place). A shard
// whose scan fails (truncated, corrupt) is not indexed: the error names it.
Status WriteShardIndex(const std::string& shard_path);
// Writes the index of every shard the specs name (ExpandShardSpecs); the members indexed.
StatusOr<int64_t> WriteShardIndexes(const std::vector<std::string>& specs);

// Parses an index file; a malformed one is an error naming it.
StatusOr<ShardIndex> ReadShardIndex(const std::string& index_path);

// Opens `shard_path` through its index instead of scanning. Refused, naming the index file: an
// index of another shard, a shard shorter than its index, or a stale index (the shard's size or
// mtime differ from what the index recorded).
Status OpenIndexedShard(const std::string& shard_path, TarReader* reader);

}  // namespace tigerfg::data
