// runtime/train/out_dir.cc — the out-dir policy (runtime/train/out_dir.h).
#include "runtime/train/out_dir.h"

#include <glog/logging.h>

#include <filesystem>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"

namespace tigerfg::train {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> RunFilesIn(const std::string& out_dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* name : kRunFiles)
    if (fs::exists(fs::path(out_dir) / name, ec)) found.push_back(name);
  return found;
}

std::string Join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

Status Clear(const std::string& out_dir, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::error_code ec;
    fs::remove_all(fs::path(out_dir) / name, ec);
    if (ec) return Status::Error(out_dir + "/" + name + ": cannot delete: " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> PrepareOutDir(const OutDirRequest& request) {
  const std::string& out = request.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Status::Error("--out_dir " + out + ": cannot create: " + ec.message());
  if (!request.resume_from.empty()) return request.resume_from;
  const std::string root = out + "/checkpoints";
  if (request.resume_auto) {
    if (ResolveCheckpoint(root).ok()) return root;
    if (!ListCheckpoints(root).empty())
      return Status::Error("--resume=auto: " + root + " holds complete checkpoints but its " +
                           kLatestFile + " names none of them; pass --resume_from " + root +
                           "/step-N");
  }
  const std::vector<std::string> found = RunFilesIn(out);
  if (found.empty()) return std::string();
  const bool finished = fs::exists(fs::path(out) / "final.safetensors", ec);
  if (request.overwrite || (request.resume_auto && !finished)) {
    LOG(WARNING) << "--out_dir " << out << ": deleting the earlier run's " << Join(found)
                 << (request.overwrite ? " (--overwrite)"
                                       : " (--resume=auto: it has no complete checkpoint)");
    TIGERFG_RETURN_IF_ERROR(Clear(out, found));
    return std::string();
  }
  return Status::Error("--out_dir " + out + " holds a run (" + Join(found) +
                       "): pass --resume=auto to continue it, --overwrite to replace it, or "
                       "another --out_dir");
}

}  // namespace tigerfg::train
