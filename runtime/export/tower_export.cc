// runtime/export/tower_export.cc — tower membership of parameters and the safetensors export.
#include "runtime/export/tower_export.h"

#include "configs/config.h"
#include "runtime/core/safetensors.h"

namespace tigerfg::exporter {

namespace {

bool MatchesPrefix(const std::string& name, const std::string& prefix) {
  return name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

StatusOr<Tower> ParseTower(const std::string& name) {
  if (name == "query") return Tower::kQuery;
  if (name == "item") return Tower::kItem;
  if (name == "both") return Tower::kBoth;
  return Status::Error("--tower: '" + name + "' is not one of query, item, both");
}

const char* TowerName(Tower tower) {
  switch (tower) {
    case Tower::kQuery:
      return "query";
    case Tower::kItem:
      return "item";
    case Tower::kBoth:
      return "both";
  }
  return "?";
}

std::vector<std::string> TowerPrefixes(Tower tower) {
  std::vector<std::string> out;
  if (tower != Tower::kItem) out.insert(out.end(), {"query.", "query_proj."});
  if (tower != Tower::kQuery)
    out.insert(out.end(), {"item_vision.", "text.", "ground.", "item_proj."});
  return out;
}

std::vector<const ParamSpec*> TowerParams(const ParamTable& table, Tower tower) {
  const std::vector<std::string> prefixes = TowerPrefixes(tower);
  std::vector<const ParamSpec*> out;
  for (const ParamSpec& p : table.params()) {
    for (const std::string& prefix : prefixes) {
      if (MatchesPrefix(p.name, prefix)) {
        out.push_back(&p);
        break;
      }
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> TowerPrefixMap(Tower tower) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& prefix : TowerPrefixes(tower)) out.emplace_back(prefix, prefix);
  return out;
}

Status ExportTowerSafetensors(const std::string& path, const config::RunConfig& config,
                              const ParamTable& table, const float* params, Tower tower,
                              int64_t step) {
  std::vector<NamedTensor> tensors;
  for (const ParamSpec* p : TowerParams(table, tower)) {
    tensors.push_back({p->name, Tensor::F32(const_cast<float*>(params) + p->offset, p->shape)});
  }
  CHECK(!tensors.empty()) << "tower " << TowerName(tower) << " holds no parameter";
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"tower", TowerName(tower)},
      {"step", std::to_string(step)},
      {"config", config::ConfigToText(config)},
      {"model_json", config::ModelConfigToSpecJson(config.model())},
  };
  return WriteSafetensors(path, tensors, metadata);
}

}  // namespace tigerfg::exporter
