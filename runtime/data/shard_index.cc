// runtime/data/shard_index.cc — writes, parses and checks SHARD.idx (a small text file: a header
// naming the shard with its sample count and the index's own size, then one line per member and
// per sample's product id).
#include "runtime/data/shard_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <unordered_set>

#include "runtime/data/webdataset.h"

namespace tigerfg::data {
namespace {

constexpr char kMagic[] = "tigerfg-shard-index 2";
constexpr int kIndexBytesDigits = 16;  // fixed width: the header's length does not depend on it
// The header is six short lines and the shard's base name; read in one go at start-up.
constexpr size_t kHeaderReadBytes = 4096;
constexpr size_t kMaxHeaderBytes = 64 * 1024;

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// The product ids of the shard's samples whose KEY.json parses; others are left out (their
// error surfaces when the sample is read, as without an index).
std::vector<std::pair<std::string, int64_t>> ProductIds(const TarReader& reader) {
  std::vector<std::pair<std::string, int64_t>> ids;
  std::string key, ext;
  for (const TarMember& m : reader.members()) {
    if (!SplitSampleMember(m.name, &key, &ext) || ext != "json") continue;
    StatusOr<std::string> text = reader.Read(m);
    if (!text.ok()) continue;
    const nlohmann::json meta = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!meta.is_object()) continue;
    auto id = meta.find("product_id");
    if (id != meta.end() && id->is_number_integer()) ids.emplace_back(key, id->get<int64_t>());
  }
  return ids;
}

// Reads "WORD INT" or "WORD INT INT REST" lines: a cursor over the index text.
class IndexParser {
 public:
  IndexParser(std::string text, std::string path)
      : text_(std::move(text)), path_(std::move(path)) {}

  // The next line, without its '\n'; an error at the end of the file.
  StatusOr<std::string_view> Line() {
    if (pos_ >= text_.size()) return Error("ends early");
    const size_t end = text_.find('\n', pos_);
    if (end == std::string::npos) return Error("ends without a newline");
    std::string_view line(text_.data() + pos_, end - pos_);
    pos_ = end + 1;
    ++line_;
    return line;
  }
  // Splits off the leading integer of `*rest` (and the one space after it).
  bool Int(std::string_view* rest, int64_t* value) {
    const char* end = rest->data() + rest->size();
    auto [ptr, ec] = std::from_chars(rest->data(), end, *value);
    if (ec != std::errc() || (ptr != end && *ptr != ' ')) return false;
    rest->remove_prefix(ptr - rest->data() + (ptr != end ? 1 : 0));
    return true;
  }
  // "WORD VALUE" where VALUE is the rest of the line.
  StatusOr<std::string_view> Field(std::string_view word) {
    TIGERFG_ASSIGN_OR_RETURN(std::string_view line, Line());
    if (line.size() <= word.size() || line.substr(0, word.size()) != word ||
        line[word.size()] != ' ') {
      return Error("expected '" + std::string(word) + " ...'");
    }
    return line.substr(word.size() + 1);
  }
  StatusOr<int64_t> IntField(std::string_view word) {
    TIGERFG_ASSIGN_OR_RETURN(std::string_view rest, Field(word));
    int64_t value = 0;
    if (!Int(&rest, &value) || !rest.empty() || value < 0) return Error("bad number");
    return value;
  }
  Status Error(const std::string& what) const {
    return Status::Error(path_ + ": malformed shard index (line " + std::to_string(line_ + 1) +
                         "): " + what + "; re-run `tigerfg data index` on its shard");
  }
  bool at_end() const { return pos_ == text_.size(); }
  size_t pos() const { return pos_; }

 private:
  std::string text_, path_;
  size_t pos_ = 0;
  int line_ = 0;
};

// The header's lines through index_bytes.
Status ParseHeader(IndexParser& p, ShardIndexHeader* h) {
  TIGERFG_ASSIGN_OR_RETURN(std::string_view magic, p.Line());
  if (magic != kMagic) {
    return p.Error(magic.rfind("tigerfg-shard-index ", 0) == 0
                       ? "an older index format ('" + std::string(magic) + "')"
                       : "not a tigerfg shard index");
  }
  TIGERFG_ASSIGN_OR_RETURN(std::string_view name, p.Field("shard"));
  h->shard_name = std::string(name);
  TIGERFG_ASSIGN_OR_RETURN(h->shard_size, p.IntField("size"));
  TIGERFG_ASSIGN_OR_RETURN(h->shard_mtime_ns, p.IntField("mtime_ns"));
  TIGERFG_ASSIGN_OR_RETURN(h->sample_count, p.IntField("sample_count"));
  TIGERFG_ASSIGN_OR_RETURN(h->index_bytes, p.IntField("index_bytes"));
  return Status::Ok();
}

Status SizeMismatch(const std::string& index_path, int64_t actual, int64_t recorded) {
  return Status::Error(index_path + ": malformed shard index: the file is " +
                       std::to_string(actual) + " bytes, its header records " +
                       std::to_string(recorded) +
                       " (cut or edited); re-run `tigerfg data index` on its shard");
}

}  // namespace

std::vector<std::string> SampleKeys(const std::vector<TarMember>& members) {
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  std::string key, ext;
  for (const TarMember& m : members) {
    if (SplitSampleMember(m.name, &key, &ext) && seen.insert(key).second) keys.push_back(key);
  }
  return keys;
}

std::string ShardIndexPath(const std::string& shard_path) { return shard_path + ".idx"; }

Status WriteShardIndex(const std::string& shard_path) {
  TarReader reader;
  TIGERFG_RETURN_IF_ERROR(reader.Open(shard_path).WithContext("cannot index"));
  struct stat st;
  if (stat(shard_path.c_str(), &st) != 0) return Status::Error(shard_path + ": cannot stat");
  std::ostringstream body;
  body << "members " << reader.members().size() << "\n";
  for (const TarMember& m : reader.members()) {
    if (m.name.find('\n') != std::string::npos) {
      return Status::Error(shard_path + ": cannot index member name with a newline: " + m.name);
    }
    body << m.offset << " " << m.size << " " << m.name << "\n";
  }
  const auto ids = ProductIds(reader);
  body << "samples " << ids.size() << "\n";
  for (const auto& [key, id] : ids) body << id << " " << key << "\n";
  body << "end\n";
  std::ostringstream head;
  head << kMagic << "\nshard " << BaseName(shard_path) << "\nsize " << st.st_size << "\nmtime_ns "
       << MtimeNs(st) << "\nsample_count " << SampleKeys(reader.members()).size()
       << "\nindex_bytes ";
  const std::string body_text = body.str();
  const size_t total = head.str().size() + kIndexBytesDigits + 1 + body_text.size();
  char digits[kIndexBytesDigits + 2];
  std::snprintf(digits, sizeof(digits), "%0*zu\n", kIndexBytesDigits, total);
  const std::string text = head.str() + digits + body_text;

  const std::string path = ShardIndexPath(shard_path), tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::Error(tmp + ": cannot create: " + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Error(path + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

StatusOr<int64_t> WriteShardIndexes(const std::vector<std::string>& specs) {
  TIGERFG_ASSIGN_OR_RETURN(std::vector<std::string> shards, ExpandShardSpecs(specs));
  int64_t members = 0;
  for (const std::string& shard : shards) {
    TIGERFG_RETURN_IF_ERROR(WriteShardIndex(shard));
    TIGERFG_ASSIGN_OR_RETURN(ShardIndex index, ReadShardIndex(ShardIndexPath(shard)));
    members += static_cast<int64_t>(index.members.size());
  }
  return members;
}

StatusOr<ShardIndex> ReadShardIndex(const std::string& index_path) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) return Status::Error(index_path + ": cannot open shard index");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  IndexParser p(text, index_path);
  ShardIndex index;
  TIGERFG_RETURN_IF_ERROR(ParseHeader(p, &index));
  if (index.index_bytes != static_cast<int64_t>(text.size())) {
    return SizeMismatch(index_path, static_cast<int64_t>(text.size()), index.index_bytes);
  }
  TIGERFG_ASSIGN_OR_RETURN(const int64_t members, p.IntField("members"));
  for (int64_t i = 0; i < members; ++i) {  // a count past the file's lines ends at Line()
    TIGERFG_ASSIGN_OR_RETURN(std::string_view rest, p.Line());
    TarMember m;
    if (!p.Int(&rest, &m.offset) || !p.Int(&rest, &m.size) || rest.empty()) {
      return p.Error("expected 'OFFSET SIZE NAME'");
    }
    m.name = std::string(rest);
    index.members.push_back(std::move(m));
  }
  TIGERFG_ASSIGN_OR_RETURN(const int64_t samples, p.IntField("samples"));
  for (int64_t i = 0; i < samples; ++i) {
    TIGERFG_ASSIGN_OR_RETURN(std::string_view rest, p.Line());
    int64_t id = 0;
    if (!p.Int(&rest, &id) || rest.empty()) return p.Error("expected 'PRODUCT_ID KEY'");
    index.product_ids.emplace_back(std::string(rest), id);
  }
  TIGERFG_ASSIGN_OR_RETURN(std::string_view end, p.Line());
  if (end != "end" || !p.at_end()) return p.Error("expected 'end' as the last line");
  return index;
}

StatusOr<ShardIndexHeader> ReadShardIndexHeader(const std::string& index_path) {
  const int fd = ::open(index_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::Error(index_path + ": cannot open shard index: " + std::strerror(errno));
  struct stat st;
  std::string text;
  bool read_ok = fstat(fd, &st) == 0;
  // Reads until the header's last line is in (one read unless the shard's name is long).
  while (read_ok && text.size() < kMaxHeaderBytes) {
    const size_t at = text.find("\nindex_bytes ");
    if (at != std::string::npos && text.find('\n', at + 1) != std::string::npos) break;
    const size_t have = text.size();
    text.resize(have + kHeaderReadBytes);
    const ssize_t got = pread(fd, text.data() + have, kHeaderReadBytes, static_cast<off_t>(have));
    text.resize(have + (got > 0 ? static_cast<size_t>(got) : 0));
    if (got < 0 && errno == EINTR) continue;
    read_ok = got >= 0;
    if (got <= 0) break;
  }
  ::close(fd);
  if (!read_ok) return Status::Error(index_path + ": cannot read shard index");
  IndexParser p(text, index_path);
  ShardIndexHeader header;
  TIGERFG_RETURN_IF_ERROR(ParseHeader(p, &header));
  if (header.index_bytes != static_cast<int64_t>(st.st_size)) {
    return SizeMismatch(index_path, static_cast<int64_t>(st.st_size), header.index_bytes);
  }
  return header;
}

Status MissingShardIndex(const std::string& shard_path) {
  return Status::Error(shard_path + ": no shard index (" + ShardIndexPath(shard_path) +
                       "): shards are read through their indexes; run `tigerfg data index " +
                       shard_path + "` (or `tigerfg data index 'DIR/*.tar'` for a folder)");
}

Status CheckShardIndexHeader(const std::string& shard_path, const ShardIndexHeader& index) {
  const std::string index_path = ShardIndexPath(shard_path);
  const std::string redo = "; re-run `tigerfg data index " + shard_path + "`";
  if (index.shard_name != BaseName(shard_path)) {
    return Status::Error(index_path + ": index of another shard ('" + index.shard_name +
                         "'), not of " + shard_path + redo);
  }
  struct stat st;
  if (stat(shard_path.c_str(), &st) != 0) {
    return Status::Error(shard_path + ": cannot stat shard: " + std::strerror(errno));
  }
  if (st.st_size < index.shard_size) {
    return Status::Error(shard_path + ": shard is shorter (" + std::to_string(st.st_size) +
                         " bytes) than its index " + index_path + " records (" +
                         std::to_string(index.shard_size) + " bytes): truncated?" + redo);
  }
  if (st.st_size != index.shard_size || MtimeNs(st) != index.shard_mtime_ns) {
    return Status::Error(
        index_path + ": stale shard index: " + shard_path + " changed since it was indexed (size " +
        std::to_string(st.st_size) + " vs " + std::to_string(index.shard_size) + ", mtime_ns " +
        std::to_string(MtimeNs(st)) + " vs " + std::to_string(index.shard_mtime_ns) + ")" + redo);
  }
  return Status::Ok();
}

Status OpenIndexedShard(const std::string& shard_path, TarReader* reader,
                        int64_t expected_samples) {
  const std::string index_path = ShardIndexPath(shard_path);
  TIGERFG_ASSIGN_OR_RETURN(ShardIndex index, ReadShardIndex(index_path));
  TIGERFG_RETURN_IF_ERROR(CheckShardIndexHeader(shard_path, index));
  if (expected_samples >= 0 && index.sample_count != expected_samples) {
    return Status::Error(index_path + ": now holds " + std::to_string(index.sample_count) +
                         " samples, " + std::to_string(expected_samples) +
                         " when the run started (re-indexed during the run?)");
  }
  const int64_t keys = static_cast<int64_t>(SampleKeys(index.members).size());
  if (keys != index.sample_count) {
    return Status::Error(index_path + ": malformed shard index: sample_count " +
                         std::to_string(index.sample_count) + " but its members hold " +
                         std::to_string(keys) + " samples; re-run `tigerfg data index " +
                         shard_path + "`");
  }
  return reader->OpenIndexed(shard_path, std::move(index.members)).WithContext(index_path);
}

}  // namespace tigerfg::data
