// tests/data/test_data.h — temporary folders and small WebDataset shards for the data tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/data/image.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/tar_writer.h"

namespace tigerfg::data::testing {

// A fresh folder under TMPDIR, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tigerfg_data_XXXXXX").string();
    CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An 8x8 image whose colour encodes `value`, so a decoded sample says which one it was.
inline Image CodedImage(int value, int side = 8) {
  Image image(side, side, 3);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      image.at(y, x)[0] = static_cast<uint8_t>(8 * (value % 30));
      image.at(y, x)[1] = static_cast<uint8_t>(8 * (value / 30 % 30));
      image.at(y, x)[2] = static_cast<uint8_t>(4 * x + 4 * y);
    }
  }
  return image;
}

inline std::string Jpeg(const Image& image) {
  StatusOr<std::string> bytes = EncodeJpeg(image, 95);
  CHECK(bytes.ok()) << bytes.status().message();
  return std::move(bytes).value();
}

// Writes samples [first, first + count) as KEY = s%05d with product_id = index / 2 (two
// listings per product) and title "red shirt <index>"; with its index (SHARD.idx) unless not.
inline void WriteSampleShard(const std::string& path, int first, int count,
                             bool write_index = true) {
  TarWriter writer;
  ASSERT_TRUE(writer.Open(path, write_index).ok());
  for (int i = first; i < first + count; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "s%05d", i);
    const std::string k = key;
    ASSERT_TRUE(writer.Add(k + ".query.jpg", Jpeg(CodedImage(i))).ok());
    ASSERT_TRUE(writer.Add(k + ".item.jpg", Jpeg(CodedImage(i + 1))).ok());
    ASSERT_TRUE(writer
                    .Add(k + ".json", "{\"title\": \"red shirt " + std::to_string(i) +
                                          "\", \"product_id\": " + std::to_string(i / 2) + "}")
                    .ok());
  }
  ASSERT_TRUE(writer.Close().ok());
}

}  // namespace tigerfg::data::testing
