// runtime/data/tar_reader.cc — one header scan per shard, then pread() by member.
#include "runtime/data/tar_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace tigerfg::data {
namespace {

constexpr int64_t kBlock = 512;

// Octal numeric field (NUL/space padded); GNU base-256 when the top bit is set.
bool ParseNumber(const char* field, int width, int64_t* value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(field);
  if (bytes[0] & 0x80) {
    int64_t v = bytes[0] & 0x3F;
    for (int i = 1; i < width; ++i) v = (v << 8) | bytes[i];
    *value = v;
    return true;
  }
  int64_t v = 0;
  int i = 0;
  while (i < width && (field[i] == ' ' || field[i] == '\0')) ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    v = v * 8 + (field[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != ' ' && field[i] != '\0') return false;
  }
  *value = v;
  return any;
}

std::string CString(const char* field, int width) {
  return std::string(field, strnlen(field, width));
}

bool ReadFull(int fd, void* dst, int64_t size, int64_t offset) {
  auto* out = static_cast<char*>(dst);
  while (size > 0) {
    ssize_t got = pread(fd, out, static_cast<size_t>(size), offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    size -= got;
    offset += got;
  }
  return true;
}

}  // namespace

TarReader::~TarReader() {
  if (fd_ >= 0) close(fd_);
}

TarReader::TarReader(TarReader&& other) noexcept { *this = std::move(other); }

TarReader& TarReader::operator=(TarReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    members_ = std::move(other.members_);
    by_name_ = std::move(other.by_name_);
  }
  return *this;
}

Status TarReader::Open(const std::string& path) {
  path_ = path;
  members_.clear();
  by_name_.clear();
  if (fd_ >= 0) close(fd_);
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::Error(path + ": cannot open shard: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::Error(path + ": cannot stat shard");
  const int64_t file_size = st.st_size;

  int64_t offset = 0;
  std::string long_name;  // from a GNU 'L' record, applies to the next member
  char header[kBlock];
  while (true) {
    if (offset == file_size) return Status::Ok();  // no end-of-archive blocks: still complete
    if (offset + kBlock > file_size) {
      return Status::Error(path + ": truncated shard: partial header at byte " +
                           std::to_string(offset));
    }
    if (!ReadFull(fd_, header, kBlock, offset)) {
      return Status::Error(path + ": read error at byte " + std::to_string(offset));
    }
    bool zero = true;
    for (char c : header) zero = zero && c == 0;
    if (zero) return Status::Ok();  // end-of-archive

    int64_t stored_sum = 0, size = 0;
    int64_t sum = 0;
    for (int i = 0; i < kBlock; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    }
    if (!ParseNumber(header + 148, 8, &stored_sum) || stored_sum != sum) {
      return Status::Error(path + ": corrupt shard: bad header checksum at byte " +
                           std::to_string(offset));
    }
    if (!ParseNumber(header + 124, 12, &size) || size < 0) {
      return Status::Error(path + ": corrupt shard: bad size field at byte " +
                           std::to_string(offset));
    }
    const int64_t data_offset = offset + kBlock;
    const int64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (data_offset + size > file_size) {
      return Status::Error(path + ": truncated shard: member '" + CString(header, 100) +
                           "' needs " + std::to_string(size) + " bytes at byte " +
                           std::to_string(data_offset) + ", file has " + std::to_string(file_size));
    }
    const char type = header[156];
    if (type == 'L') {  // GNU long name: the data is the next member's name
      std::string name(static_cast<size_t>(size), '\0');
      if (!ReadFull(fd_, name.data(), size, data_offset)) {
        return Status::Error(path + ": read error at byte " + std::to_string(data_offset));
      }
      long_name = name.substr(0, strnlen(name.data(), name.size()));
    } else if (type == '0' || type == '\0' || type == '7') {
      std::string name;
      if (!long_name.empty()) {
        name = std::move(long_name);
        long_name.clear();
      } else {
        name = CString(header, 100);
        const bool ustar = std::memcmp(header + 257, "ustar", 5) == 0;
        const std::string prefix = ustar ? CString(header + 345, 155) : "";
        if (!prefix.empty()) name = prefix + "/" + name;
      }
      by_name_[name] = members_.size();
      members_.push_back(TarMember{std::move(name), data_offset, size});
    } else {
      long_name.clear();  // directories, links, pax headers: not samples
    }
    offset = data_offset + padded;
  }
}

const TarMember* TarReader::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &members_[it->second];
}

StatusOr<std::string> TarReader::Read(const std::string& name) const {
  const TarMember* member = Find(name);
  if (member == nullptr) return Status::Error(path_ + ": no member '" + name + "'");
  return Read(*member);
}

StatusOr<std::string> TarReader::Read(const TarMember& member) const {
  std::string bytes(static_cast<size_t>(member.size), '\0');
  if (!ReadFull(fd_, bytes.data(), member.size, member.offset)) {
    return Status::Error(path_ + ": cannot read member '" + member.name + "'");
  }
  return bytes;
}

}  // namespace tigerfg::data
