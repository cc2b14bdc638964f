// runtime/data/shard_index.h — SHARD.idx beside a tar shard: a small header (the shard's name,
// size, mtime and sample count) read at start-up, then its member offsets and sizes and its
// samples' product ids, loaded only when the shard is read, so ranks never scan tar headers.
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
struct ShardIndexHeader {
  std::string shard_name;  // base name of the shard, e.g. "train-000000.tar"
  int64_t shard_size = 0;
  int64_t shard_mtime_ns = 0;
  int64_t sample_count = 0;  // distinct sample keys among the members
  int64_t index_bytes = 0;   // the index file's own size (a cut or extended index is refused)
};

struct ShardIndex : ShardIndexHeader {
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
// Reads only the header (the first few hundred bytes) and checks the file's size against it.
StatusOr<ShardIndexHeader> ReadShardIndexHeader(const std::string& index_path);
// The index must describe `shard_path` as it is now: refused, naming the index file, when it is
// of another shard, when the shard is shorter than recorded, or when it is stale (size or mtime).
Status CheckShardIndexHeader(const std::string& shard_path, const ShardIndexHeader& header);
// The error for a shard without an index, saying how to make one.
Status MissingShardIndex(const std::string& shard_path);

// Opens `shard_path` through its index instead of scanning (CheckShardIndexHeader's refusals).
// `expected_samples` >= 0: the index must still hold that many samples (what start-up counted).
Status OpenIndexedShard(const std::string& shard_path, TarReader* reader,
                        int64_t expected_samples = -1);

}  // namespace tigerfg::data
