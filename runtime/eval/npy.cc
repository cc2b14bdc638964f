// runtime/eval/npy.cc — the .npy 1.0 writer: magic, header length, a Python-dict header padded
// with spaces so the data starts at a multiple of 64 bytes, then the raw array.
#include "runtime/eval/npy.h"

#include <bit>
#include <cstdio>
#include <memory>

namespace tigerfg::eval {

Status WriteNpyF32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  static_assert(std::endian::native == std::endian::little, "the .npy header says '<f4'");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  constexpr size_t kPrefix = 10;  // magic (6) + version (2) + header length (2)
  const size_t total = kPrefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 65535) return Status::Error(path + ": .npy header too long");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Status::Error(path + ": cannot open for writing");
  const unsigned char prefix[kPrefix] = {0x93,
                                         'N',
                                         'U',
                                         'M',
                                         'P',
                                         'Y',
                                         1,
                                         0,
                                         static_cast<unsigned char>(header.size() & 0xff),
                                         static_cast<unsigned char>(header.size() >> 8)};
  const size_t values = static_cast<size_t>(rows * cols);
  bool ok = std::fwrite(prefix, 1, kPrefix, f.get()) == kPrefix &&
            std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
            (values == 0 || std::fwrite(data, sizeof(float), values, f.get()) == values);
  ok = std::fclose(f.release()) == 0 && ok;
  if (!ok) return Status::Error(path + ": write failed (disk full?)");
  return Status::Ok();
}

}  // namespace tigerfg::eval
