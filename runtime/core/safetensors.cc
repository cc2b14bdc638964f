// runtime/core/safetensors.cc — safetensors read and write (header JSON through nlohmann-json).
#include "runtime/core/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

namespace tigerfg {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

StatusOr<DType> ParseDType(const std::string& name) {
  if (name == "F32") return DType::kF32;
  if (name == "BF16") return DType::kBF16;
  if (name == "I64") return DType::kI64;
  if (name == "I32") return DType::kI32;
  if (name == "U8") return DType::kU8;
  return Status::Error("unsupported dtype " + name);
}

}  // namespace

StatusOr<Tensor> TensorFile::Get(const std::string& name, DType dtype, const Shape& shape) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) return Status::Error(origin + ": missing tensor " + name);
  const Buffer& b = it->second;
  if (b.dtype() != dtype)
    return Status::Error(origin + ": tensor " + name + " has dtype " + DTypeName(b.dtype()) +
                         ", expected " + DTypeName(dtype));
  if (b.shape() != shape)
    return Status::Error(origin + ": tensor " + name + " has shape " + b.shape().ToString() +
                         ", expected " + shape.ToString());
  return b.tensor();
}

namespace {

// One header entry: its dtype, shape and data range [begin, end), every number checked against
// overflow and the data section before anything is allocated from it.
struct EntryLayout {
  DType dtype;
  std::vector<int64_t> dims;
  uint64_t begin = 0, end = 0;
};

StatusOr<EntryLayout> ParseEntry(const nlohmann::json& entry, const std::string& where,
                                 uint64_t data_size) {
  if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() ||
      !entry.contains("shape") || !entry["shape"].is_array() || !entry.contains("data_offsets") ||
      !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
    return Status::Error(where + ": malformed header entry");
  EntryLayout e;
  auto dtype = ParseDType(entry["dtype"].get<std::string>());
  if (!dtype.ok()) return dtype.status().WithContext(where);
  e.dtype = *dtype;
  if (entry["shape"].size() > static_cast<size_t>(Shape::kMaxDims))
    return Status::Error(where + ": too many dimensions");
  for (auto& d : entry["shape"]) {
    // An unsigned value above INT64_MAX is no int64: get<int64_t> would wrap it negative.
    if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX) ||
        d.get<int64_t>() < 0)
      return Status::Error(where + ": bad shape entry " + d.dump());
    e.dims.push_back(d.get<int64_t>());
  }
  const auto& offs = entry["data_offsets"];
  if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
    return Status::Error(where + ": bad data_offsets");
  e.begin = offs[0].get<uint64_t>();
  e.end = offs[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    return Status::Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                         std::to_string(e.end) + ") outside the data (" +
                         std::to_string(data_size) + " bytes; file truncated?)");
  int64_t expected = 0;
  if (!CheckedByteSize(e.dims, DTypeSize(e.dtype), &expected))
    return Status::Error(where + ": shape " + nlohmann::json(e.dims).dump() + " of " +
                         DTypeName(e.dtype) + " overflows int64 (element count or byte size)");
  if (e.end - e.begin != static_cast<uint64_t>(expected))
    return Status::Error(where + ": " + std::to_string(e.end - e.begin) + " bytes for shape " +
                         Shape(e.dims).ToString() + " of " + DTypeName(e.dtype) + " (expected " +
                         std::to_string(expected) + ")");
  return e;
}

}  // namespace

StatusOr<TensorFile> ReadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open");
  in.seekg(0, std::ios::end);
  const std::streamoff end_pos = in.tellg();
  if (end_pos < 0) return Status::Error(path + ": cannot determine the file size");
  const uint64_t file_size = static_cast<uint64_t>(end_pos);
  in.seekg(0);
  if (file_size < 8) return Status::Error(path + ": too short for a safetensors file");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeaderBytes || 8 + header_len > file_size)
    return Status::Error(path + ": header length " + std::to_string(header_len) +
                         " exceeds the file (" + std::to_string(file_size) + " bytes)");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) return Status::Error(path + ": short read of the header");
  nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Error(path + ": header is not JSON");
  const uint64_t data_size = file_size - 8 - header_len;

  TensorFile file;
  file.origin = path;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Status::Error(path + ": __metadata__ is not an object");
      for (auto& [k, v] : entry.items())
        if (v.is_string()) file.metadata[k] = v.get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor " + name;
    TIGERFG_ASSIGN_OR_RETURN(EntryLayout e, ParseEntry(entry, where, data_size));
    Buffer buffer(e.dtype, Shape(e.dims));
    const uint64_t bytes = e.end - e.begin;
    in.seekg(static_cast<std::streamoff>(8 + header_len + e.begin));
    in.read(static_cast<char*>(buffer.data()), static_cast<std::streamsize>(bytes));
    if (!in) return Status::Error(where + ": short read");
    if (bytes > 0) ranges.emplace_back(e.begin, e.end);
    file.tensors.emplace(name, std::move(buffer));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return Status::Error(path + ": tensors overlap in the data section");
  return file;
}

Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<const NamedTensor*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const NamedTensor* t : sorted) {
    CHECK(t->tensor.device() == Device::kCpu) << "WriteSafetensors: " << t->name << " is on GPU";
    if (header.contains(t->name)) return Status::Error(path + ": duplicate tensor " + t->name);
    const uint64_t bytes = t->tensor.nbytes();
    header[t->name] = {{"dtype", DTypeName(t->tensor.dtype())},
                       {"shape", t->tensor.shape().dims()},
                       {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Error(tmp + ": cannot create");
    unsigned char len_bytes[8];
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const NamedTensor* t : sorted)
      out.write(static_cast<const char*>(t->tensor.data()),
                static_cast<std::streamsize>(t->tensor.nbytes()));
    out.flush();
    if (!out) return Status::Error(tmp + ": write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::Error(path + ": cannot rename " + tmp + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace tigerfg
