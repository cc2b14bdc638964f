// tests/fuzz/fuzz_safetensors.cc — ReadSafetensors on arbitrary bytes; a file it accepts must
// write back and read again to the same tensors (names, dtypes, shapes, bytes, metadata).
#include <cstring>

#include "runtime/core/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tigerfg::fuzz::Require;
  const std::string path = tigerfg::fuzz::WriteScratch("in.safetensors", data, size);
  auto file = tigerfg::ReadSafetensors(path);
  if (!file.ok()) {
    Require(file.status().message().find(path) != std::string::npos,
            "error without the file name: " + file.status().message());
    return 0;
  }
  std::vector<tigerfg::NamedTensor> tensors;
  for (const auto& [name, buffer] : file->tensors) {
    Require(buffer.nbytes() <= size, "tensor " + name + " larger than the file");
    tensors.push_back({name, buffer.tensor()});
  }
  const std::string copy = tigerfg::fuzz::ScratchDir() + "/copy.safetensors";
  Require(tigerfg::WriteSafetensors(copy, tensors, file->metadata).ok(), "write back failed");
  auto again = tigerfg::ReadSafetensors(copy);
  Require(again.ok(), "written file unreadable: " + again.status().message());
  Require(again->tensors.size() == file->tensors.size() && again->metadata == file->metadata,
          "round trip changed the tensor list or metadata");
  for (const auto& [name, buffer] : file->tensors) {
    const tigerfg::Buffer& b = again->tensors.at(name);
    Require(b.dtype() == buffer.dtype() && b.shape() == buffer.shape() &&
                std::memcmp(b.data(), buffer.data(), buffer.nbytes()) == 0,
            "round trip changed tensor " + name);
  }
  return 0;
}
