// runtime/data/tar_writer.cc — ustar headers, 512-byte padding, end-of-archive blocks.
#include "runtime/data/tar_writer.h"

#include <cerrno>
#include <cstring>

#include "runtime/data/shard_index.h"

namespace tigerfg::data {
namespace {

constexpr size_t kBlock = 512;

void PutOctal(char* field, int width, int64_t value) {
  std::snprintf(field, width, "%0*llo", width - 1, static_cast<unsigned long long>(value));
}

}  // namespace

TarWriter::~TarWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status TarWriter::Open(const std::string& path, bool write_index) {
  path_ = path;
  write_index_ = write_index;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return Status::Error(path + ": cannot create: " + std::strerror(errno));
  return Status::Ok();
}

Status TarWriter::Add(const std::string& name, const std::string& data) {
  CHECK(file_ != nullptr) << "TarWriter::Add before Open";
  char header[kBlock] = {};
  std::string base = name, prefix;
  if (name.size() > 100) {
    const size_t slash = name.rfind('/', 155);
    if (slash == std::string::npos || name.size() - slash - 1 > 100) {
      return Status::Error(path_ + ": member name too long for ustar: " + name);
    }
    prefix = name.substr(0, slash);
    base = name.substr(slash + 1);
  }
  std::memcpy(header, base.data(), base.size());
  PutOctal(header + 100, 8, 0644);
  PutOctal(header + 108, 8, 0);
  PutOctal(header + 116, 8, 0);
  PutOctal(header + 124, 12, static_cast<int64_t>(data.size()));
  PutOctal(header + 136, 12, 0);
  header[156] = '0';
  std::memcpy(header + 257, "ustar", 6);
  std::memcpy(header + 263, "00", 2);
  std::memcpy(header + 345, prefix.data(), prefix.size());
  std::memset(header + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(header[i]);
  std::snprintf(header + 148, 8, "%06o", sum);
  header[155] = ' ';
  const size_t pad = (kBlock - data.size() % kBlock) % kBlock;
  static const char kZeros[kBlock] = {};
  if (std::fwrite(header, 1, kBlock, file_) != kBlock ||
      std::fwrite(data.data(), 1, data.size(), file_) != data.size() ||
      std::fwrite(kZeros, 1, pad, file_) != pad) {
    return Status::Error(path_ + ": write failed for member " + name);
  }
  return Status::Ok();
}

Status TarWriter::Close() {
  if (file_ == nullptr) return Status::Ok();
  static const char kZeros[2 * kBlock] = {};
  const bool ok = std::fwrite(kZeros, 1, sizeof(kZeros), file_) == sizeof(kZeros);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) return Status::Error(path_ + ": write failed while closing");
  return write_index_ ? WriteShardIndex(path_) : Status::Ok();
}

}  // namespace tigerfg::data
