// runtime/checkpoint/checkpoint.cc — writing checkpoints (temporary directory, fsync, rename,
// `latest`, pruning) and finding them. Reading and verification live in checkpoint_read.cc.
#include "runtime/checkpoint/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "configs/config.h"
#include "runtime/checkpoint/checkpoint_internal.h"

namespace tigerfg::train {

namespace fs = std::filesystem;

namespace internal {

uint32_t Crc32(const void* data, size_t n) {
  // zlib takes uInt lengths: feed large buffers in pieces.
  constexpr size_t kChunk = size_t{1} << 30;
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const size_t chunk = std::min(n, kChunk);
    crc = crc32(crc, p, static_cast<uInt>(chunk));
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

int64_t StepOfDirName(const std::string& name) {
  if (name.rfind(kStepPrefix, 0) != 0) return -1;
  const std::string digits = name.substr(std::strlen(kStepPrefix));
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::strtoll(digits.c_str(), nullptr, 10);
}

}  // namespace internal

namespace {

using internal::Crc32;

std::string ErrnoText() { return std::strerror(errno); }

std::string StepDirName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08lld", internal::kStepPrefix, static_cast<long long>(step));
  return buf;
}

// A file written with write(2) and made durable with fsync(2) before it is closed.
class SyncedFile {
 public:
  SyncedFile() = default;
  SyncedFile(const SyncedFile&) = delete;
  SyncedFile& operator=(const SyncedFile&) = delete;
  ~SyncedFile() {
    if (fd_ >= 0) close(fd_);
  }

  Status Open(const std::string& path) {
    path_ = path;
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::Error(path + ": cannot create: " + ErrnoText());
    return Status::Ok();
  }
  Status Write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t written = write(fd_, p, n);
      if (written < 0) {
        if (errno == EINTR) continue;
        return Status::Error(path_ + ": write failed: " + ErrnoText());
      }
      p += written;
      n -= static_cast<size_t>(written);
      size_ += written;
    }
    return Status::Ok();
  }
  Status SyncAndClose() {
    if (fsync(fd_) != 0) return Status::Error(path_ + ": fsync failed: " + ErrnoText());
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Status::Error(path_ + ": close failed: " + ErrnoText());
    return Status::Ok();
  }
  int64_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// A rename or a new entry is durable only once its directory is synced.
Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(dir + ": cannot open the directory: " + ErrnoText());
  const int rc = fsync(fd);
  const std::string error = ErrnoText();
  close(fd);
  if (rc != 0) return Status::Error(dir + ": fsync failed: " + error);
  return Status::Ok();
}

Status WriteSmallFile(const std::string& path, const std::string& bytes) {
  SyncedFile file;
  TIGERFG_RETURN_IF_ERROR(file.Open(path));
  TIGERFG_RETURN_IF_ERROR(file.Write(bytes.data(), bytes.size()));
  return file.SyncAndClose();
}

Status Rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    return Status::Error("cannot rename " + from + " to " + to + ": " + ErrnoText());
  return Status::Ok();
}

// Appends tensors to one flat file of a checkpoint, recording each in the manifest.
class TensorFileWriter {
 public:
  TensorFileWriter(const std::string& dir, std::string name, checkpoint::Manifest* manifest)
      : dir_(dir), name_(std::move(name)), manifest_(manifest) {}

  Status Open() { return file_.Open(dir_ + "/" + name_); }
  Status Add(const std::string& tensor_name, const Shape& shape, const float* data) {
    const size_t bytes = static_cast<size_t>(shape.numel()) * sizeof(float);
    checkpoint::TensorEntry* entry = manifest_->add_tensors();
    entry->set_name(tensor_name);
    entry->set_file(name_);
    entry->set_dtype("F32");
    for (int64_t d : shape.dims()) entry->add_shape(d);
    entry->set_offset(file_.size());
    entry->set_length(static_cast<int64_t>(bytes));
    entry->set_crc32(Crc32(data, bytes));
    return file_.Write(data, bytes);
  }
  Status Finish() {
    TIGERFG_RETURN_IF_ERROR(file_.SyncAndClose());
    checkpoint::FileEntry* entry = manifest_->add_files();
    entry->set_name(name_);
    entry->set_size(file_.size());
    return Status::Ok();
  }

 private:
  std::string dir_, name_;
  checkpoint::Manifest* manifest_;
  SyncedFile file_;
};

// What a writer killed mid-save or mid-prune left behind: temporary directories, a half-written
// `latest`, and step directories without a manifest (a prune deletes the manifest first, but a kill
// in the middle of remove_all can leave any part). A step directory moved aside by the fallback
// replace path (see ReplaceDir) whose new version never arrived is moved back instead.
void RemoveIncomplete(const std::string& root) {
  std::error_code ec;
  std::vector<fs::path> doomed, restore;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string replaced_prefix = std::string(internal::kTmpPrefix) + "replaced-";
    if (name.rfind(replaced_prefix, 0) == 0 &&
        !fs::exists(fs::path(root) / name.substr(replaced_prefix.size()), ec) &&
        fs::is_regular_file(entry.path() / kManifestFile, ec)) {
      restore.push_back(entry.path());
    } else if (name.rfind(internal::kTmpPrefix, 0) == 0 ||
               name == std::string(kLatestFile) + ".tmp") {
      doomed.push_back(entry.path());
    } else if (internal::StepOfDirName(name) >= 0 &&
               !fs::is_regular_file(entry.path() / kManifestFile, ec)) {
      LOG(WARNING) << entry.path().string() << ": a checkpoint without " << kManifestFile
                   << " (left by an interrupted delete); removing it";
      doomed.push_back(entry.path());
    }
  }
  for (const fs::path& path : doomed) fs::remove_all(path, ec);
  const size_t prefix = std::strlen(internal::kTmpPrefix) + std::strlen("replaced-");
  for (const fs::path& path : restore)
    fs::rename(path, fs::path(root) / path.filename().string().substr(prefix), ec);
}

// Deletes a checkpoint so that a kill in the middle never leaves a directory that looks complete:
// the manifest goes first.
void RemoveCheckpointDir(const std::string& dir) {
  std::error_code ec;
  fs::remove(fs::path(dir) / kManifestFile, ec);
  fs::remove_all(dir, ec);
  if (ec) LOG(WARNING) << dir << ": cannot delete an old checkpoint: " << ec.message();
}

Status WriteCheckpointFiles(const std::string& dir, const config::RunConfig& cfg,
                            const ParamTable& table, const CheckpointState& state,
                            const CheckpointWriteOptions& options) {
  checkpoint::Manifest manifest;
  manifest.set_format_version(internal::kFormatVersion);
  manifest.set_step(state.step);
  manifest.set_cursor(state.cursor);
  manifest.set_world_size(state.world_size);
  manifest.set_config(config::ConfigToText(cfg));
  // Initialisation draws from (seed, parameter index); data order and augmentation from
  // (seed, global sample position): the cursor is the data stream's position.
  checkpoint::RngState* init = manifest.add_rng();
  init->set_name("init");
  init->set_seed(cfg.train().seed());
  checkpoint::RngState* data = manifest.add_rng();
  data->set_name("data");
  data->set_seed(cfg.train().seed());
  data->set_counter(state.cursor);

  TensorFileWriter params(dir, kParamsFile, &manifest);
  TIGERFG_RETURN_IF_ERROR(params.Open());
  for (const ParamSpec& p : table.params())
    TIGERFG_RETURN_IF_ERROR(params.Add(std::string(internal::kParamsPrefix) + p.name, p.shape,
                                       state.params + p.offset));
  TIGERFG_RETURN_IF_ERROR(params.Finish());
  if (options.mid_write) options.mid_write();

  TensorFileWriter optimizer(dir, kOptimizerFile, &manifest);
  TIGERFG_RETURN_IF_ERROR(optimizer.Open());
  for (const auto& [prefix, buffer] :
       {std::pair{internal::kAdamMPrefix, state.m}, std::pair{internal::kAdamVPrefix, state.v}}) {
    for (const ParamSpec& p : table.params()) {
      if (!p.trainable) break;
      TIGERFG_RETURN_IF_ERROR(
          optimizer.Add(std::string(prefix) + p.name, p.shape, buffer + p.offset));
    }
  }
  TIGERFG_RETURN_IF_ERROR(optimizer.Finish());

  std::string bytes;
  CHECK(manifest.SerializeToString(&bytes));
  // The checksum covers every byte before it; a fixed32 field appended last (field 9 is the
  // highest, so this is also where a plain serialization would put it).
  checkpoint::Manifest checksum;
  checksum.set_manifest_crc32(Crc32(bytes.data(), bytes.size()));
  bytes += checksum.SerializeAsString();
  TIGERFG_RETURN_IF_ERROR(WriteSmallFile(dir + "/" + kManifestFile, bytes));
  return SyncDirectory(dir);
}

// Deletes checkpoints of later steps than `newest` (left by an earlier run or an abandoned
// timeline: `latest` now names `newest`, and keeping them would make them look newest), then the
// oldest complete checkpoints beyond keep_last, never `newest`.
void Prune(const std::string& root, const std::string& newest, int keep_last) {
  const int64_t newest_step = internal::StepOfDirName(newest);
  std::vector<std::string> others;
  for (const std::string& dir : ListCheckpoints(root)) {
    const int64_t step = internal::StepOfDirName(fs::path(dir).filename().string());
    if (step > newest_step) {
      LOG(WARNING) << dir << ": a checkpoint after the one just written (" << newest
                   << "), from an earlier run; deleting it";
      RemoveCheckpointDir(dir);
    } else if (fs::path(dir).filename() != newest) {
      others.push_back(dir);
    }
  }
  if (keep_last <= 0) return;
  const size_t keep_others = static_cast<size_t>(keep_last - 1);
  for (size_t i = 0; i + keep_others < others.size(); ++i) RemoveCheckpointDir(others[i]);
}

// Puts the complete directory `tmp` in place of `dir`, which may hold a checkpoint of the same
// step from an earlier run. Where the filesystem can, both are swapped atomically
// (renameat2 RENAME_EXCHANGE), so a kill never leaves `dir` missing; elsewhere the old one is
// moved aside first, and RemoveIncomplete/ResolveCheckpoint move it back if the kill comes before
// the new one is in place.
Status ReplaceDir(const std::string& tmp, const std::string& dir, const std::string& aside) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Rename(tmp, dir);
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(tmp, ec);  // now the old checkpoint
    return Status::Ok();
  }
  TIGERFG_RETURN_IF_ERROR(Rename(dir, aside));
  TIGERFG_RETURN_IF_ERROR(Rename(tmp, dir));
  fs::remove_all(aside, ec);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> SaveCheckpoint(const std::string& root, const config::RunConfig& cfg,
                                     const ParamTable& table, const CheckpointState& state,
                                     const CheckpointWriteOptions& options) {
  CHECK(state.params != nullptr && state.m != nullptr && state.v != nullptr);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::Error(root + ": cannot create: " + ec.message());
  RemoveIncomplete(root);
  const std::string name = StepDirName(state.step);
  const std::string tmp = root + "/" + internal::kTmpPrefix + name;
  const std::string dir = root + "/" + name;
  fs::create_directory(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  Status written = WriteCheckpointFiles(tmp, cfg, table, state, options);
  if (!written.ok()) {
    fs::remove_all(tmp, ec);
    return written;
  }
  // A checkpoint of the same step from an earlier run in this root is replaced.
  TIGERFG_RETURN_IF_ERROR(
      ReplaceDir(tmp, dir, root + "/" + internal::kTmpPrefix + "replaced-" + name));
  TIGERFG_RETURN_IF_ERROR(SyncDirectory(root));

  const std::string latest = root + "/" + kLatestFile;
  TIGERFG_RETURN_IF_ERROR(WriteSmallFile(latest + ".tmp", name + "\n"));
  TIGERFG_RETURN_IF_ERROR(Rename(latest + ".tmp", latest));
  TIGERFG_RETURN_IF_ERROR(SyncDirectory(root));
  Prune(root, name, options.keep_last);
  return dir;
}

std::vector<std::string> ListCheckpoints(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const int64_t step = internal::StepOfDirName(entry.path().filename().string());
    if (step >= 0 && fs::is_regular_file(entry.path() / kManifestFile, ec))
      found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> dirs;
  for (auto& [step, dir] : found) dirs.push_back(std::move(dir));
  return dirs;
}

StatusOr<std::string> ResolveCheckpoint(const std::string& path) {
  std::error_code ec;
  fs::path latest;
  if (fs::is_regular_file(path, ec) && fs::path(path).filename() == kLatestFile) {
    latest = path;
  } else if (fs::is_regular_file(fs::path(path) / kManifestFile, ec)) {
    return path;
  } else if (fs::is_regular_file(fs::path(path) / kLatestFile, ec)) {
    latest = fs::path(path) / kLatestFile;
  } else if (fs::is_regular_file(fs::path(path) / "checkpoints" / kLatestFile, ec)) {
    latest = fs::path(path) / "checkpoints" / kLatestFile;  // a run's output folder
  } else {
    return Status::Error(path + ": not a checkpoint (no " + kManifestFile +
                         ") nor a checkpoint root (no " + kLatestFile + ")");
  }
  std::ifstream in(latest);
  std::string name;
  if (!(in >> name) || name.find('/') != std::string::npos || name == "." || name == "..")
    return Status::Error(latest.string() + ": expected the name of a checkpoint directory");
  fs::path dir = latest.parent_path() / name;
  const fs::path aside =
      latest.parent_path() / (std::string(internal::kTmpPrefix) + "replaced-" + name);
  // A kill in the fallback replace path left the checkpoint moved aside (ReplaceDir).
  if (!fs::exists(dir, ec) && fs::is_regular_file(aside / kManifestFile, ec)) dir = aside;
  if (!fs::is_regular_file(dir / kManifestFile, ec))
    return Status::Error(latest.string() + " names " + dir.string() + ", which has no " +
                         kManifestFile);
  return dir.string();
}

}  // namespace tigerfg::train
