// runtime/data/tar_reader.h — random access into one tar shard (ustar, GNU, pax) through an
// index (member name -> offset, size) built by a single scan of the headers.
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

// Reads regular-file members of a POSIX ustar, GNU or pax tar: GNU long names ('L') and the pax
// `path` and `size` keys of per-file ('x') and global ('g') extended headers are applied, so a
// tar written by Python's tarfile (pax by default) with long or non-ASCII names reads whole.
// Reads are pread()s on one file descriptor, so one TarReader serves many loader threads.
class TarReader {
 public:
  TarReader() = default;
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;
  TarReader(TarReader&& other) noexcept;
  TarReader& operator=(TarReader&& other) noexcept;

  // Scans the headers once. A truncated or corrupt shard (a size field past the end of the file,
  // a metadata record over 1 MiB, a malformed pax record) gives an error naming the shard, the
  // member and the byte offset; the index then still holds every complete member before it.
  Status Open(const std::string& path);

  // Opens the shard with `members` from its index instead of scanning; each member must lie
  // inside the file (an error naming the shard and the first that does not).
  Status OpenIndexed(const std::string& path, std::vector<TarMember> members);

  const std::string& path() const { return path_; }
  int64_t file_size() const { return file_size_; }
  bool is_open() const { return fd_ >= 0; }
  const std::vector<TarMember>& members() const { return members_; }  // in file order
  // Drops the member table (Find then finds nothing), keeping the file open for Read(member):
  // for callers that keep a compact table of their own.
  void ForgetMembers() {
    members_ = {};
    by_name_ = {};
  }
  const TarMember* Find(const std::string& name) const;
  // The bytes of member `name`; an error naming shard and member when absent, unreadable or
  // (for a TarMember not from this index) outside the file.
  StatusOr<std::string> Read(const std::string& name) const;
  StatusOr<std::string> Read(const TarMember& member) const;

 private:
  // Opens path, forgetting any previous shard, and records its size.
  Status OpenFile(const std::string& path);
  struct PendingHeaders;  // metadata entries seen before the next member (tar_reader.cc)
  // Indexes the entry whose 512-byte header is at `offset`; the offset of the next header.
  StatusOr<int64_t> ScanEntry(const char* header, int64_t offset, PendingHeaders* pending);

  std::string path_;
  int fd_ = -1;
  int64_t file_size_ = 0;
  std::vector<TarMember> members_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace tigerfg::data
