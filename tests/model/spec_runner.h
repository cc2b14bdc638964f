// tests/model/spec_runner.h — helpers shared by the model and parity tests: tiny configurations,
// a scratch directory, and running the PyTorch spec (tests/reference/tigerfg_ref.py).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "configs/config.h"
#include "configs/tigerfg.pb.h"

namespace tigerfg::testing {

inline std::string SpecPath() {
  return std::string(TIGERFG_SOURCE_DIR) + "/tests/reference/tigerfg_ref.py";
}

// The tiny preset (configs/tiny_cpu.prototxt) with `overrides` applied (LoadConfig syntax).
inline config::ModelConfig TinyModel(const std::string& overrides = "") {
  auto run =
      config::LoadConfig(std::string(TIGERFG_SOURCE_DIR) + "/configs/tiny_cpu.prototxt", overrides);
  CHECK(run.ok()) << run.status().message();
  return run->model();
}

// A fresh directory under the system temp dir, removed with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tigerfg_" + tag + "_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `command` through the shell; returns its exit status and puts stdout+stderr in *output.
inline int RunCommand(const std::string& command, std::string* output) {
  const std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  output->clear();
  while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) output->append(chunk, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// The Debian python3 that has torch (the PATH python3 may be a pyenv without it).
inline const char* kSpecPython = "/usr/bin/python3";

}  // namespace tigerfg::testing
