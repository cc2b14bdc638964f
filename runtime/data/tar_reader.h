// runtime/data/tar_reader.h — random access into one ustar tar shard through an index
// (member name -> offset, size) built by a single scan of the headers.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/status.h"

namespace tigerfg::data {

struct TarMember {
  std::string name;
  int64_t offset = 0;  // of the member's data in the file
  int64_t size = 0;
};

// Reads regular-file members of a POSIX ustar (or GNU) tar. Reads are pread()s on one file
// descriptor, so one TarReader serves many loader threads at once.
class TarReader {
 public:
  TarReader() = default;
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;
  TarReader(TarReader&& other) noexcept;
  TarReader& operator=(TarReader&& other) noexcept;

  // Scans the headers once. A truncated or corrupt shard gives an error naming the shard and
  // the byte offset; the index then still holds every complete member before the damage.
  Status Open(const std::string& path);

  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }
  const std::vector<TarMember>& members() const { return members_; }  // in file order
  const TarMember* Find(const std::string& name) const;
  // The bytes of member `name`; an error naming shard and member when absent or unreadable.
  StatusOr<std::string> Read(const std::string& name) const;
  StatusOr<std::string> Read(const TarMember& member) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<TarMember> members_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace tigerfg::data
