// runtime/checkpoint/checkpoint_read.cc — reading a checkpoint: the manifest, verification of every
// file and tensor, the model check, and the all-or-nothing load into the flat buffers.
#include <google/protobuf/util/message_differencer.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "configs/config.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/checkpoint_internal.h"

namespace tigerfg::train {

namespace {

std::string DimsToString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return Status::Error(path + ": read failed");
  return bytes.str();
}

// The manifest's file sizes and each tensor's bounds and checksum against `bytes`, the file's
// contents.
Status VerifyFile(const std::string& dir, const checkpoint::Manifest& manifest,
                  const checkpoint::FileEntry& file, const std::string& bytes) {
  const std::string path = dir + "/" + file.name();
  const int64_t size = static_cast<int64_t>(bytes.size());
  for (const checkpoint::TensorEntry& t : manifest.tensors()) {
    if (t.file() != file.name()) continue;
    // offset + length could overflow int64 (and then pass): compare the length to the rest.
    if (t.offset() < 0 || t.length() < 0 || t.offset() > size || t.length() > size - t.offset())
      return Status::Error(path + ": tensor " + t.name() + ": bytes [" +
                           std::to_string(t.offset()) + ", +" + std::to_string(t.length()) +
                           ") lie beyond the end of " + "the file (" + std::to_string(size) +
                           " bytes, the manifest says " + std::to_string(file.size()) +
                           "): truncated?");
    const uint32_t crc = internal::Crc32(bytes.data() + t.offset(), t.length());
    if (crc != t.crc32())
      return Status::Error(path + ": tensor " + t.name() + ": checksum mismatch (crc32 " +
                           std::to_string(crc) + ", the manifest says " +
                           std::to_string(t.crc32()) + "): the file is corrupt");
  }
  if (size != file.size())
    return Status::Error(path + ": " + std::to_string(size) + " bytes, the manifest says " +
                         std::to_string(file.size()));
  return Status::Ok();
}

// One tensor of a planned load: where it goes (null when only verifying) and its entry.
struct LoadCopy {
  float* dst;
  const checkpoint::TensorEntry* src;
};

// Every tensor's file must be one the manifest lists, and every listed file a plain name inside
// the checkpoint directory (not "../x" or "/dev/zero").
Status CheckTensorFilesListed(const std::string& dir, const checkpoint::Manifest& manifest) {
  std::unordered_set<std::string> files;
  for (const checkpoint::FileEntry& f : manifest.files()) {
    if (f.name().empty() || f.name() == "." || f.name() == ".." ||
        f.name().find_first_of(std::string("/\0", 2)) != std::string::npos)
      return Status::Error(dir + "/" + kManifestFile + ": file name '" + f.name() +
                           "' is not a plain name inside the checkpoint directory");
    files.insert(f.name());
  }
  for (const checkpoint::TensorEntry& t : manifest.tensors())
    if (!files.count(t.file()))
      return Status::Error(dir + "/" + kManifestFile + ": tensor " + t.name() + " is in file '" +
                           t.file() + "', which the manifest does not list");
  return Status::Ok();
}

// The writer appends manifest_crc32 as the last 5 bytes (tag 0x4D = field 9, fixed32, then the
// little-endian value) over the bytes before them. A manifest without it predates the field: it is
// accepted with a warning (its tensors still carry their own crc32s).
Status CheckManifestChecksum(const std::string& path, const std::string& bytes,
                             const checkpoint::Manifest& manifest) {
  if (!manifest.has_manifest_crc32()) {
    LOG(WARNING) << path << ": no manifest_crc32 (written by an older tigerfg); its step, cursor "
                 << "and tensor table are accepted unchecked";
    return Status::Ok();
  }
  constexpr size_t kTail = 5;
  const size_t n = bytes.size();
  const uint32_t want = manifest.manifest_crc32();
  const bool tail_ok = n >= kTail && static_cast<uint8_t>(bytes[n - kTail]) == 0x4D &&
                       std::memcmp(bytes.data() + n - 4, &want, 4) == 0;  // little endian
  const uint32_t crc = tail_ok ? internal::Crc32(bytes.data(), n - kTail) : 0;
  if (!tail_ok || crc != want)
    return Status::Error(path + ": checksum mismatch (manifest_crc32 " +
                         std::to_string(manifest.manifest_crc32()) + ", the bytes give " +
                         std::to_string(crc) +
                         "): the manifest was edited or is corrupt (step, cursor or tensor table "
                         "cannot be trusted)");
  return Status::Ok();
}

// What every tensor entry must satisfy whatever the model: F32, a length matching its shape, a
// unique name.
Status CheckTensorEntries(const std::string& dir, const checkpoint::Manifest& manifest) {
  std::unordered_set<std::string> names;
  for (const checkpoint::TensorEntry& t : manifest.tensors()) {
    const std::string where = dir + "/" + t.file() + ": tensor " + t.name();
    if (!names.insert(t.name()).second)
      return Status::Error(dir + "/" + kManifestFile + ": tensor " + t.name() + " appears twice");
    if (t.dtype() != "F32")
      return Status::Error(where + ": dtype " + t.dtype() + ", the model's is F32");
    int64_t numel = 1;
    for (int64_t d : t.shape()) {
      if (d < 0 || (d > 0 && numel > (int64_t{1} << 40) / d))
        return Status::Error(where + ": bad shape " +
                             DimsToString({t.shape().begin(), t.shape().end()}));
      numel *= d;
    }
    if (t.length() != numel * static_cast<int64_t>(sizeof(float)))
      return Status::Error(where + ": " + std::to_string(t.length()) + " bytes for shape " +
                           DimsToString({t.shape().begin(), t.shape().end()}));
  }
  return Status::Ok();
}

// Plans every copy of a load before touching the destination: every parameter of `table` (and,
// with the optimizer, the moments of the trainable ones) with its shape, and no tensor the model
// does not have. With params null the plan checks the whole optimizer state without destinations.
Status PlanLoad(const std::string& dir, const checkpoint::Manifest& manifest,
                const ParamTable& table, float* params, float* m, float* v,
                std::vector<LoadCopy>* copies) {
  const std::string manifest_path = dir + "/" + kManifestFile;
  const bool with_optimizer = params == nullptr || m != nullptr;
  std::unordered_map<std::string, const checkpoint::TensorEntry*> entries;
  for (const checkpoint::TensorEntry& t : manifest.tensors())
    if (!entries.emplace(t.name(), &t).second)
      return Status::Error(manifest_path + ": tensor " + t.name() + " appears twice");
  std::unordered_set<std::string> wanted;
  auto want = [&](const std::string& name, const Shape& shape, float* dst) -> Status {
    wanted.insert(name);
    auto it = entries.find(name);
    if (it == entries.end())
      return Status::Error(manifest_path + ": tensor " + name +
                           " is missing (a checkpoint of another model?)");
    const checkpoint::TensorEntry& t = *it->second;
    const std::string where = dir + "/" + t.file() + ": tensor " + name;
    if (t.dtype() != "F32")
      return Status::Error(where + ": dtype " + t.dtype() + ", the model's is F32");
    const std::vector<int64_t> dims(t.shape().begin(), t.shape().end());
    if (dims != shape.dims())
      return Status::Error(where + ": shape " + DimsToString(dims) + " in the checkpoint, " +
                           shape.ToString() + " in the model");
    if (t.length() != shape.numel() * static_cast<int64_t>(sizeof(float)))
      return Status::Error(where + ": " + std::to_string(t.length()) + " bytes for shape " +
                           shape.ToString());
    copies->push_back({dst, &t});
    return Status::Ok();
  };
  const auto at = [](float* base, int64_t offset) { return base ? base + offset : nullptr; };
  for (const ParamSpec& p : table.params()) {
    TIGERFG_RETURN_IF_ERROR(
        want(std::string(internal::kParamsPrefix) + p.name, p.shape, at(params, p.offset)));
    if (!p.trainable || !with_optimizer) continue;
    TIGERFG_RETURN_IF_ERROR(
        want(std::string(internal::kAdamMPrefix) + p.name, p.shape, at(m, p.offset)));
    TIGERFG_RETURN_IF_ERROR(
        want(std::string(internal::kAdamVPrefix) + p.name, p.shape, at(v, p.offset)));
  }
  for (const checkpoint::TensorEntry& t : manifest.tensors()) {
    const bool optimizer_state = t.name().rfind(internal::kParamsPrefix, 0) != 0;
    if (!wanted.count(t.name()) && !(optimizer_state && !with_optimizer))
      return Status::Error(dir + "/" + t.file() + ": tensor " + t.name() +
                           " is not in the model (a checkpoint of another model?)");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<checkpoint::Manifest> ReadManifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifestFile;
  TIGERFG_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  checkpoint::Manifest manifest;
  if (!manifest.ParseFromString(bytes))
    return Status::Error(path + ": not a checkpoint manifest (protobuf parse failed)");
  if (manifest.format_version() != internal::kFormatVersion)
    return Status::Error(path + ": format_version " + std::to_string(manifest.format_version()) +
                         ", this binary reads " + std::to_string(internal::kFormatVersion));
  TIGERFG_RETURN_IF_ERROR(CheckManifestChecksum(path, bytes, manifest));
  return manifest;
}

Status VerifyCheckpoint(const std::string& dir, const checkpoint::Manifest& manifest,
                        const ParamTable* table) {
  TIGERFG_RETURN_IF_ERROR(CheckTensorFilesListed(dir, manifest));
  TIGERFG_RETURN_IF_ERROR(CheckTensorEntries(dir, manifest));
  if (table != nullptr) {
    // The same plan resume makes: every tensor of the model present with its shape, no other.
    std::vector<LoadCopy> copies;
    TIGERFG_RETURN_IF_ERROR(PlanLoad(dir, manifest, *table, nullptr, nullptr, nullptr, &copies));
  }
  for (const checkpoint::FileEntry& file : manifest.files()) {
    TIGERFG_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(dir + "/" + file.name()));
    TIGERFG_RETURN_IF_ERROR(VerifyFile(dir, manifest, file, bytes));
  }
  return Status::Ok();
}

Status CheckSameModel(const checkpoint::Manifest& manifest, const config::ModelConfig& model) {
  TIGERFG_ASSIGN_OR_RETURN(config::RunConfig saved,
                           config::ParseConfigText(manifest.config(), "the checkpoint's config"));
  const config::ModelConfig& was = saved.model();
  if (was.has_teacher() != model.has_teacher())
    return Status::Error(std::string("model.teacher: the checkpoint's model has ") +
                         (was.has_teacher() ? "a teacher" : "none") + ", the config's " +
                         (model.has_teacher() ? "has one" : "has none"));
  google::protobuf::util::MessageDifferencer differ;
  // A field left at its default equals the same value written out (the manifest writes all).
  differ.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
  std::string report;
  differ.ReportDifferencesToString(&report);
  if (differ.Compare(was, model)) return Status::Ok();
  // Lines read "modified: query.width: 64 -> 32" (checkpoint -> config).
  std::string fields;
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    const size_t colon = line.find(": ");
    fields += (fields.empty() ? "" : "; ") + std::string("model.") +
              (colon == std::string::npos ? line : line.substr(colon + 2));
  }
  return Status::Error("the config's model differs from the checkpoint's (checkpoint -> config): " +
                       fields);
}

StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::string& dir, const ParamTable& table,
                                          float* params, float* m, float* v) {
  CHECK(params != nullptr);
  CHECK_EQ(m == nullptr, v == nullptr);
  TIGERFG_ASSIGN_OR_RETURN(checkpoint::Manifest manifest, ReadManifest(dir));
  std::vector<LoadCopy> copies;
  TIGERFG_RETURN_IF_ERROR(PlanLoad(dir, manifest, table, params, m, v, &copies));
  using Copy = LoadCopy;

  TIGERFG_RETURN_IF_ERROR(CheckTensorFilesListed(dir, manifest));
  // Only the files holding wanted tensors are read (no optimizer file for parameters only).
  std::unordered_set<std::string> needed;
  for (const Copy& c : copies) needed.insert(c.src->file());
  std::map<std::string, std::string> contents;
  for (const checkpoint::FileEntry& file : manifest.files()) {
    if (!needed.count(file.name())) continue;
    TIGERFG_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(dir + "/" + file.name()));
    TIGERFG_RETURN_IF_ERROR(VerifyFile(dir, manifest, file, bytes));
    contents[file.name()] = std::move(bytes);
  }
  for (const Copy& c : copies)
    std::memcpy(c.dst, contents[c.src->file()].data() + c.src->offset(), c.src->length());

  LoadedCheckpoint loaded;
  loaded.dir = dir;
  loaded.step = manifest.step();
  loaded.cursor = manifest.cursor();
  loaded.world_size = manifest.world_size();
  return loaded;
}

}  // namespace tigerfg::train
