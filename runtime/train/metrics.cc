// runtime/train/metrics.cc — metrics.jsonl writer.
#include "runtime/train/metrics.h"

#include <cerrno>
#include <cstring>

namespace tigerfg::train {

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

Status MetricsWriter::Open(const std::string& path, bool append) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) return Status::Error(path + ": cannot open for writing: " + std::strerror(errno));
  return Status::Ok();
}

void MetricsWriter::Write(const nlohmann::ordered_json& record) {
  if (!file_) return;
  const std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace tigerfg::train
