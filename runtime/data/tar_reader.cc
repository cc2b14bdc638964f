// runtime/data/tar_reader.cc — one header scan per shard (ustar, GNU long names, pax extended
// headers), then pread() by member. Every size read from the file is checked against the file.
#include "runtime/data/tar_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

namespace tigerfg::data {
namespace {

constexpr int64_t kBlock = 512;
// A GNU long name or a pax record set is metadata: anything larger is a corrupt size field,
// refused before allocating (a crafted size must not become a gigabyte string).
constexpr int64_t kMaxRecordBytes = int64_t{1} << 20;

// Octal numeric field (NUL/space padded); GNU base-256 when the top bit is set (0x80 positive,
// 0xFF negative). False on garbage, a negative value or one that does not fit int64.
bool ParseNumber(const char* field, int width, int64_t* value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(field);
  if (bytes[0] & 0x80) {
    if (bytes[0] != 0x80) return false;  // negative, or a value with the top bits set
    int64_t v = 0;
    for (int i = 1; i < width; ++i) {
      if (v > (std::numeric_limits<int64_t>::max() >> 8)) return false;
      v = (v << 8) | bytes[i];
    }
    *value = v;
    return true;
  }
  int64_t v = 0;
  int i = 0;
  while (i < width && (field[i] == ' ' || field[i] == '\0')) ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    v = v * 8 + (field[i] - '0');  // at most 12 octal digits: 36 bits, no overflow
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != ' ' && field[i] != '\0') return false;
  }
  *value = v;
  return any;
}

// A non-negative decimal that fits int64 (pax lengths and sizes).
bool ParseDecimal(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 18) return false;  // 10^18 < 2^63: no overflow below
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
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

// The pax attributes tigerfg uses; an empty `path` or a negative `size` is unset.
struct PaxAttrs {
  std::string path;
  int64_t size = -1;
};

// Applies the records of one pax header ("LEN KEY=VALUE\n", LEN counting the whole record) to
// `attrs`. An empty value unsets the key, as POSIX says.
Status ApplyPaxRecords(std::string_view data, const std::string& where, PaxAttrs* attrs) {
  size_t pos = 0;
  while (pos < data.size() && data[pos] != '\0') {
    const size_t space = data.find(' ', pos);
    int64_t length = 0;
    if (space == std::string_view::npos || !ParseDecimal(data.substr(pos, space - pos), &length) ||
        length <= static_cast<int64_t>(space - pos) + 1 ||
        length > static_cast<int64_t>(data.size() - pos) || data[pos + length - 1] != '\n') {
      return Status::Error(where + ": malformed pax record at byte " + std::to_string(pos));
    }
    const std::string_view record = data.substr(space + 1, pos + length - 1 - (space + 1));
    pos += length;
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos) {
      return Status::Error(where + ": pax record without '=': " + std::string(record));
    }
    const std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") {
      attrs->path = std::string(value);
    } else if (key == "size") {
      if (value.empty()) {
        attrs->size = -1;
      } else if (!ParseDecimal(value, &attrs->size)) {
        return Status::Error(where + ": pax size '" + std::string(value) + "' is not a size");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

// What the metadata entries before a member say about it: GNU 'L' and pax 'x' apply to the next
// entry only, pax 'g' to every later entry; a pax 'x' overrides a GNU long name and 'g'.
struct TarReader::PendingHeaders {
  std::string long_name;  // GNU 'L'
  PaxAttrs local;         // pax 'x'
  PaxAttrs global;        // pax 'g'

  std::string Name(const char* header) const {
    if (!local.path.empty()) return local.path;
    if (!long_name.empty()) return long_name;
    if (!global.path.empty()) return global.path;
    std::string name = CString(header, 100);
    const bool ustar = std::memcmp(header + 257, "ustar", 5) == 0;
    const std::string prefix = ustar ? CString(header + 345, 155) : "";
    return prefix.empty() ? name : prefix + "/" + name;
  }
  int64_t Size(int64_t header_size) const {
    return local.size >= 0 ? local.size : global.size >= 0 ? global.size : header_size;
  }
  void EndEntry() {
    long_name.clear();
    local = PaxAttrs();
  }
};

TarReader::~TarReader() {
  if (fd_ >= 0) close(fd_);
}

TarReader::TarReader(TarReader&& other) noexcept { *this = std::move(other); }

TarReader& TarReader::operator=(TarReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    file_size_ = other.file_size_;
    members_ = std::move(other.members_);
    by_name_ = std::move(other.by_name_);
  }
  return *this;
}

Status TarReader::OpenFile(const std::string& path) {
  path_ = path;
  members_.clear();
  by_name_.clear();
  if (fd_ >= 0) close(fd_);
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::Error(path + ": cannot open shard: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::Error(path + ": cannot stat shard");
  file_size_ = st.st_size;
  return Status::Ok();
}

Status TarReader::Open(const std::string& path) {
  TIGERFG_RETURN_IF_ERROR(OpenFile(path));

  int64_t offset = 0;
  PendingHeaders pending;
  char header[kBlock];
  while (true) {
    if (offset == file_size_) return Status::Ok();  // no end-of-archive blocks: still complete
    if (offset > file_size_ - kBlock) {
      return Status::Error(path + ": truncated shard: partial header at byte " +
                           std::to_string(offset));
    }
    if (!ReadFull(fd_, header, kBlock, offset)) {
      return Status::Error(path + ": read error at byte " + std::to_string(offset));
    }
    bool zero = true;
    for (char c : header) zero = zero && c == 0;
    if (zero) return Status::Ok();  // end-of-archive
    TIGERFG_ASSIGN_OR_RETURN(offset, ScanEntry(header, offset, &pending));
  }
}

StatusOr<int64_t> TarReader::ScanEntry(const char* header, int64_t offset,
                                       PendingHeaders* pending_headers) {
  PendingHeaders& pending = *pending_headers;
  const std::string at = " at byte " + std::to_string(offset);
  int64_t stored_sum = 0, header_size = 0;
  int64_t sum = 0;
  for (int i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  }
  if (!ParseNumber(header + 148, 8, &stored_sum) || stored_sum != sum) {
    return Status::Error(path_ + ": corrupt shard: bad header checksum" + at);
  }
  const char type = header[156];
  const bool metadata = type == 'L' || type == 'K' || type == 'x' || type == 'g';
  const std::string name = metadata ? CString(header, 100) : pending.Name(header);
  const std::string member = "member '" + name + "'";
  if (!ParseNumber(header + 124, 12, &header_size)) {
    return Status::Error(path_ + ": corrupt shard: " + member + ": bad size field" + at);
  }
  const int64_t size = metadata ? header_size : pending.Size(header_size);
  const int64_t data_offset = offset + kBlock;  // <= file_size_: the header was read whole
  if (size > file_size_ - data_offset) {  // never data_offset + size: a crafted size overflows
    return Status::Error(path_ + ": truncated shard: " + member + " needs " + std::to_string(size) +
                         " bytes at byte " + std::to_string(data_offset) + ", file has " +
                         std::to_string(file_size_));
  }
  std::string record;  // the data of a metadata entry
  if (metadata && type != 'K') {
    if (size > kMaxRecordBytes) {
      return Status::Error(path_ + ": corrupt shard: " + member + " of type '" + type +
                           "' claims " + std::to_string(size) + " bytes of metadata (limit " +
                           std::to_string(kMaxRecordBytes) + ")" + at);
    }
    record.resize(static_cast<size_t>(size));
    if (!ReadFull(fd_, record.data(), size, data_offset)) {
      return Status::Error(path_ + ": read error in " + member + at);
    }
  }
  if (type == 'L') {  // GNU long name: the data is the next entry's name
    pending.long_name = record.substr(0, strnlen(record.data(), record.size()));
  } else if (type == 'x' || type == 'g') {
    TIGERFG_RETURN_IF_ERROR(ApplyPaxRecords(record, path_ + ": pax header" + at,
                                            type == 'x' ? &pending.local : &pending.global));
  } else if (type != 'K') {
    if (type == '0' || type == '\0' || type == '7') {
      by_name_[name] = members_.size();
      members_.push_back(TarMember{name, data_offset, size});
    }
    pending.EndEntry();  // directories, links: not samples, but they consume 'L' and 'x'
  }
  return data_offset + (size + kBlock - 1) / kBlock * kBlock;  // size <= file size: no overflow
}

Status TarReader::OpenIndexed(const std::string& path, std::vector<TarMember> members) {
  TIGERFG_RETURN_IF_ERROR(OpenFile(path));
  for (const TarMember& m : members) {
    if (m.offset < kBlock || m.size < 0 || m.offset > file_size_ ||
        m.size > file_size_ - m.offset) {
      return Status::Error(path + ": member '" + m.name + "' (" + std::to_string(m.size) +
                           " bytes at byte " + std::to_string(m.offset) +
                           ") lies outside the shard (" + std::to_string(file_size_) + " bytes)");
    }
  }
  members_ = std::move(members);
  for (size_t i = 0; i < members_.size(); ++i) by_name_[members_[i].name] = i;
  return Status::Ok();
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
  if (fd_ < 0 || member.offset < 0 || member.size < 0 || member.offset > file_size_ ||
      member.size > file_size_ - member.offset) {
    return Status::Error(path_ + ": member '" + member.name + "' (" + std::to_string(member.size) +
                         " bytes at byte " + std::to_string(member.offset) +
                         ") lies outside the shard (" + std::to_string(file_size_) + " bytes)");
  }
  std::string bytes(static_cast<size_t>(member.size), '\0');
  if (!ReadFull(fd_, bytes.data(), member.size, member.offset)) {
    return Status::Error(path_ + ": cannot read member '" + member.name + "'");
  }
  return bytes;
}

}  // namespace tigerfg::data
