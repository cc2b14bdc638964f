// tests/fuzz/fuzz_tar.cc — TarReader on arbitrary bytes: Open indexes the shard (or names the
// damage), then every indexed member is read. Members must lie inside the file.
#include <sys/stat.h>

#include "runtime/data/tar_reader.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tigerfg::fuzz::Require;
  const std::string path = tigerfg::fuzz::WriteScratch("shard.tar", data, size);
  tigerfg::data::TarReader reader;
  (void)reader.Open(path);  // an error keeps the members before the damage
  for (const tigerfg::data::TarMember& m : reader.members()) {
    Require(m.offset >= 0 && m.size >= 0 && m.offset <= static_cast<int64_t>(size) &&
                m.size <= static_cast<int64_t>(size) - m.offset,
            "member '" + m.name + "' lies outside the shard");
    auto bytes = reader.Read(m);
    Require(bytes.ok() && bytes->size() == static_cast<size_t>(m.size),
            "member '" + m.name + "' indexed but unreadable");
    Require(reader.Find(m.name) != nullptr, "member '" + m.name + "' not found by name");
  }
  return 0;
}
