// runtime/data/webdataset.cc — shard spec expansion, sample grouping by key, JSON metadata.
#include "runtime/data/webdataset.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "runtime/data/shard_index.h"

namespace tigerfg::data {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

bool HasGlobChars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

}  // namespace

bool SplitSampleMember(const std::string& name, std::string* key, std::string* ext) {
  const size_t slash = name.rfind('/');
  const size_t dot = name.find('.', slash == std::string::npos ? 0 : slash + 1);
  if (dot == std::string::npos || dot == 0) return false;
  *key = name.substr(0, dot);
  *ext = name.substr(dot + 1);
  return true;
}

namespace {

// Expansion is capped before any name is built: `{0..9999}{0..9999}` would otherwise build 10^8
// names (minutes, gigabytes) only to fail on the first missing shard.
constexpr int64_t kMaxShardNames = 1'000'000;

Status TooManyNames(const std::string& spec, double names) {
  char count[32];
  std::snprintf(count, sizeof(count), "%.0f", names);
  return Status::Error(spec + ": expands to " + count + " shard names (the limit is " +
                       std::to_string(kMaxShardNames) + ")");
}

}  // namespace

StatusOr<std::vector<std::string>> ExpandBraces(const std::string& spec) {
  const size_t open = spec.find('{');
  if (open == std::string::npos) return std::vector<std::string>{spec};
  const size_t close = spec.find('}', open);
  if (close == std::string::npos) return Status::Error(spec + ": unbalanced '{'");
  const std::string head = spec.substr(0, open), body = spec.substr(open + 1, close - open - 1);
  TIGERFG_ASSIGN_OR_RETURN(std::vector<std::string> tails, ExpandBraces(spec.substr(close + 1)));
  std::vector<std::string> choices;
  const size_t dots = body.find("..");
  if (dots != std::string::npos) {
    const std::string lo_text = body.substr(0, dots), hi_text = body.substr(dots + 2);
    auto numeric = [](const std::string& s) {
      return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!numeric(lo_text) || !numeric(hi_text) || lo_text.size() > 15 || hi_text.size() > 15) {
      return Status::Error(spec + ": range {" + body + "} is not {N..M}");
    }
    const int64_t lo = std::stoll(lo_text), hi = std::stoll(hi_text);
    if (hi < lo) return Status::Error(spec + ": empty range {" + body + "}");
    if (hi - lo >= kMaxShardNames / static_cast<int64_t>(tails.size()))
      return TooManyNames(spec, static_cast<double>(hi - lo + 1) * tails.size());
    const int width =
        lo_text.size() > 1 && lo_text[0] == '0' ? static_cast<int>(lo_text.size()) : 0;
    for (int64_t v = lo; v <= hi; ++v) {
      std::string digits = std::to_string(v);
      if (static_cast<int>(digits.size()) < width) digits.insert(0, width - digits.size(), '0');
      choices.push_back(std::move(digits));
    }
  } else {
    size_t start = 0;
    while (true) {
      const size_t comma = body.find(',', start);
      choices.push_back(body.substr(start, comma - start));
      if (choices.size() * tails.size() > static_cast<size_t>(kMaxShardNames))
        return TooManyNames(spec, static_cast<double>(choices.size()) * tails.size());
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::vector<std::string> out;
  for (const std::string& choice : choices) {
    for (const std::string& tail : tails) out.push_back(head + choice + tail);
  }
  return out;
}

StatusOr<std::vector<std::string>> ExpandShardSpecs(const std::vector<std::string>& specs) {
  std::vector<std::string> paths;
  for (const std::string& spec : specs) {
    TIGERFG_ASSIGN_OR_RETURN(std::vector<std::string> expanded, ExpandBraces(spec));
    for (const std::string& pattern : expanded) {
      if (HasGlobChars(pattern)) {
        glob_t g;
        const int rc = glob(pattern.c_str(), 0, nullptr, &g);
        if (rc != 0) {
          globfree(&g);
          return Status::Error("shard pattern '" + pattern + "' matches no file");
        }
        for (size_t i = 0; i < g.gl_pathc; ++i) {
          const std::string match = g.gl_pathv[i];
          const bool index = match.size() > 4 && match.compare(match.size() - 4, 4, ".idx") == 0;
          if (!index) paths.push_back(match);  // SHARD.idx beside the shards is not a shard
        }
        globfree(&g);
      } else {
        if (!Exists(pattern)) return Status::Error("shard '" + pattern + "' does not exist");
        paths.push_back(pattern);
      }
    }
  }
  if (paths.empty()) return Status::Error("no shards given");
  return paths;
}

StatusOr<std::unique_ptr<WebDataset>> WebDataset::Open(const std::vector<std::string>& specs,
                                                       unsigned parts,
                                                       const DatasetOptions& options) {
  if (options.max_open_shards < 1) {
    return Status::Error("data.max_open_shards: " + std::to_string(options.max_open_shards) +
                         " must be at least 1");
  }
  TIGERFG_ASSIGN_OR_RETURN(std::vector<std::string> paths, ExpandShardSpecs(specs));
  auto ds = std::make_unique<WebDataset>();
  ds->parts_ = parts;
  for (const std::string& path : paths) {
    int64_t samples = 0;
    const bool indexed = Exists(ShardIndexPath(path));
    if (indexed) {  // the header only: the members are loaded when the shard is first read
      TIGERFG_ASSIGN_OR_RETURN(ShardIndexHeader header, ReadShardIndexHeader(ShardIndexPath(path)));
      TIGERFG_RETURN_IF_ERROR(CheckShardIndexHeader(path, header));
      samples = header.sample_count;
    } else if (options.require_index) {
      return MissingShardIndex(path);
    } else {
      TarReader reader;
      if (Status st = reader.Open(path); !st.ok()) {
        if (!reader.is_open()) return st;
        LOG(WARNING) << st.message() << " (keeping " << reader.members().size()
                     << " complete members)";
        ds->shard_errors_.push_back(st.message());
      }
      samples = static_cast<int64_t>(SampleKeys(reader.members()).size());
    }
    ds->paths_.push_back(path);
    ds->indexed_.push_back(indexed);
    ds->starts_.push_back(ds->starts_.back() + samples);
  }
  WebDataset* raw = ds.get();
  ds->cache_ = std::make_unique<ShardCache>(
      options.max_open_shards,
      [raw](int32_t s, OpenShard* shard) { return raw->LoadShard(s, shard); });
  return ds;
}

std::vector<int64_t> WebDataset::shard_sizes() const {
  std::vector<int64_t> sizes(paths_.size());
  for (size_t s = 0; s < sizes.size(); ++s) sizes[s] = starts_[s + 1] - starts_[s];
  return sizes;
}

namespace {

// The samples of `members` (as SampleKeys orders them) with their three members; a member
// name seen twice keeps its last copy, as TarReader::Find does.
std::vector<OpenShard::Sample> CompactSamples(const std::vector<TarMember>& members) {
  std::vector<OpenShard::Sample> samples;
  std::unordered_map<std::string, size_t> by_key;
  std::string key, ext;
  for (const TarMember& m : members) {
    if (!SplitSampleMember(m.name, &key, &ext)) continue;
    auto [it, added] = by_key.emplace(key, samples.size());
    if (added) samples.push_back({key, {}, {}, {}});
    OpenShard::Sample& sample = samples[it->second];
    OpenShard::Member* slot = ext == "query.jpg"  ? &sample.query
                              : ext == "item.jpg" ? &sample.item
                              : ext == "json"     ? &sample.json
                                                  : nullptr;
    if (slot != nullptr) *slot = {m.offset, m.size};
  }
  return samples;
}

}  // namespace

Status WebDataset::LoadShard(int32_t s, OpenShard* shard) const {
  const int64_t expected = starts_[s + 1] - starts_[s];
  if (indexed_[s]) {
    TIGERFG_RETURN_IF_ERROR(OpenIndexedShard(paths_[s], &shard->reader, expected));
  } else if (Status st = shard->reader.Open(paths_[s]); !st.ok() && !shard->reader.is_open()) {
    return st;  // a damaged shard keeps its complete members, as at start-up
  }
  shard->samples = CompactSamples(shard->reader.members());
  shard->reader.ForgetMembers();
  if (static_cast<int64_t>(shard->samples.size()) != expected) {
    return Status::Error(paths_[s] + ": now holds " + std::to_string(shard->samples.size()) +
                         " samples, " + std::to_string(expected) + " when the dataset was opened");
  }
  return Status::Ok();
}

std::string WebDataset::Where(int64_t index) const {
  CHECK(index >= 0 && index < size()) << "sample " << index << " of " << size();
  const int32_t s = static_cast<int32_t>(std::upper_bound(starts_.begin(), starts_.end(), index) -
                                         starts_.begin() - 1);
  StatusOr<ShardCache::Handle> shard = cache_->Acquire(s);
  if (!shard.ok()) return paths_[s] + ":#" + std::to_string(index - starts_[s]);
  return paths_[s] + ":" + (*shard)->samples[index - starts_[s]].key;
}

StatusOr<RawSample> WebDataset::Read(int64_t index) const {
  CHECK(index >= 0 && index < size()) << "sample " << index << " of " << size();
  const int32_t s = static_cast<int32_t>(std::upper_bound(starts_.begin(), starts_.end(), index) -
                                         starts_.begin() - 1);
  TIGERFG_ASSIGN_OR_RETURN(ShardCache::Handle open, cache_->Acquire(s));
  const OpenShard::Sample& entry = open->samples[index - starts_[s]];
  RawSample sample;
  sample.shard = paths_[s];
  sample.key = entry.key;
  auto member = [&](const char* ext) -> StatusOr<std::string> {
    const OpenShard::Member& m = std::string_view(ext) == "json"        ? entry.json
                                 : std::string_view(ext) == "query.jpg" ? entry.query
                                                                        : entry.item;
    const std::string name = sample.key + "." + ext;
    if (m.offset < 0) return Status::Error(sample.where() + ": missing member " + name);
    return open->reader.Read(TarMember{name, m.offset, m.size});
  };
  if (parts_ & kQueryImage) {
    TIGERFG_ASSIGN_OR_RETURN(sample.query_jpeg, member("query.jpg"));
  }
  if (parts_ & kItemImage) {
    TIGERFG_ASSIGN_OR_RETURN(sample.item_jpeg, member("item.jpg"));
  }
  TIGERFG_ASSIGN_OR_RETURN(const std::string json_text, member("json"));
  const nlohmann::json meta = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) {
    return Status::Error(sample.where() + ".json: malformed JSON");
  }
  auto id = meta.find("product_id");
  if (id == meta.end() || !id->is_number_integer()) {
    return Status::Error(sample.where() + ".json: product_id missing or not an integer");
  }
  sample.product_id = id->get<int64_t>();
  auto title = meta.find("title");
  if (title != meta.end()) {
    if (!title->is_string()) return Status::Error(sample.where() + ".json: title is not a string");
    sample.title = title->get<std::string>();
  } else if (parts_ & kItemImage) {
    return Status::Error(sample.where() + ".json: no title");
  }
  auto box = meta.find("target_box"), size = meta.find("image_size");
  if (box != meta.end() && box->is_array() && box->size() == 4 && size != meta.end() &&
      size->is_number_integer()) {
    bool ints = true;
    for (const auto& v : *box) ints = ints && v.is_number_integer();
    for (int k = 0; ints && k < 4; ++k) sample.target_box[k] = (*box)[k].get<int>();
    if (ints) sample.target_box_size = size->get<int>();
  }
  return sample;
}

}  // namespace tigerfg::data
