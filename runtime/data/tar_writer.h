// runtime/data/tar_writer.h — writes ustar tar shards (the benchmark builder and the tests).
#pragma once

#include <cstdio>
#include <string>

#include "runtime/core/status.h"

namespace tigerfg::data {

class TarWriter {
 public:
  TarWriter() = default;
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // With `write_index`, Close() also writes the shard's index (SHARD.idx, shard_index.h).
  Status Open(const std::string& path, bool write_index = false);
  // One regular file; names longer than 100 bytes use the ustar prefix field (up to 255).
  Status Add(const std::string& name, const std::string& data);
  // Writes the two zero end-of-archive blocks and closes the file (then the index, if asked).
  Status Close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool write_index_ = false;
};

}  // namespace tigerfg::data
