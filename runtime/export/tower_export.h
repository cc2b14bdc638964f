// runtime/export/tower_export.h — which parameters make up each serving tower, and the
// safetensors export of a tower (the spec's names, a metadata block with the config and step).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "configs/tigerfg.pb.h"
#include "runtime/core/param_table.h"
#include "runtime/core/status.h"

namespace tigerfg::exporter {

enum class Tower { kQuery, kItem, kBoth };

// "query" | "item" | "both"; the error names the flag value.
StatusOr<Tower> ParseTower(const std::string& name);
const char* TowerName(Tower tower);

// The spec's module prefixes of a tower, each ending in '.': query = query., query_proj.;
// item = item_vision., text., ground., item_proj. Neither holds logit_scale nor teacher.*.
std::vector<std::string> TowerPrefixes(Tower tower);
// The table's parameters under those prefixes, in table order.
std::vector<const ParamSpec*> TowerParams(const ParamTable& table, Tower tower);
// The identity prefix map for train::LoadWeights, so only the tower's tensors must be present.
std::vector<std::pair<std::string, std::string>> TowerPrefixMap(Tower tower);

// Writes the tower's parameters (F32, spec names and shapes) with __metadata__:
//   format = "pt", tower = query|item|both, step, config (text format of `config`, defaults
//   written out), model_json (the spec's TigerFGConfig JSON).
Status ExportTowerSafetensors(const std::string& path, const config::RunConfig& config,
                              const ParamTable& table, const float* params, Tower tower,
                              int64_t step);

}  // namespace tigerfg::exporter
