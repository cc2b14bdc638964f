// tests/fuzz/fuzz_util.h — what the fuzz targets share: a per-process scratch folder for the
// readers that take a path, and quiet logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tigerfg::fuzz {

// A folder unique to this process (under /dev/shm when present: no disk writes per input).
const std::string& ScratchDir();

// Writes `size` bytes to ScratchDir()/name and returns the path.
std::string WriteScratch(const std::string& name, const uint8_t* data, size_t size);

// glog only for fatal errors (a CHECK failure is a finding and must still print).
void QuietLogging();

// Aborts with `what` when a property the target checks does not hold: libFuzzer reports it.
void Require(bool ok, const std::string& what);

}  // namespace tigerfg::fuzz
