// tests/fuzz/fuzz_util.cc — scratch files and logging for the fuzz targets.
#include "tests/fuzz/fuzz_util.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace tigerfg::fuzz {

const std::string& ScratchDir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path base =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("tigerfg_fuzz_" + std::to_string(getpid()));
    fs::create_directories(d);
    // Removed at exit; a crash leaves it for the post-mortem.
    static const std::string keep = d.string();
    std::atexit([] { std::filesystem::remove_all(keep); });
    return d.string();
  }();
  return dir;
}

std::string WriteScratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  Require(static_cast<bool>(out), "cannot write the scratch file " + path);
  return path;
}

void QuietLogging() {
  FLAGS_minloglevel = google::GLOG_FATAL;
  FLAGS_logtostderr = true;
}

void Require(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", what.c_str());
  std::abort();
}

}  // namespace tigerfg::fuzz
