// runtime/data/jpeg.h — JPEG decode/encode with libjpeg-turbo; libjpeg errors become a Status
// (its default handler would exit() the process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/core/status.h"
#include "runtime/data/image.h"

namespace tigerfg::data {

// Decodes to 3-channel RGB (grayscale is expanded). Corrupt-data warnings (e.g. a premature end
// of the file, which libjpeg would fill with gray) are errors too: training data must be whole.
// `what` names the data in messages ("shard.tar:key.item.jpg").
StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& what);
inline StatusOr<Image> DecodeJpeg(const std::string& bytes, const std::string& what) {
  return DecodeJpeg(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), what);
}

// Encodes a 1- or 3-channel image (baseline, 4:2:0 for RGB).
StatusOr<std::string> EncodeJpeg(const Image& image, int quality = 90);

}  // namespace tigerfg::data
