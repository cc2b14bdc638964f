// runtime/train/metrics.h — one JSON object per step, appended to metrics.jsonl (rank 0 only).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/core/status.h"

namespace tigerfg::train {

class MetricsWriter {
 public:
  MetricsWriter() = default;
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Opens `path` for appending (truncating first unless `append`).
  Status Open(const std::string& path, bool append);
  // Writes one line and flushes it, so a killed run keeps every finished step.
  void Write(const nlohmann::ordered_json& record);
  bool is_open() const { return file_ != nullptr; }

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace tigerfg::train
