// launcher/cmd_export.cc — `tigerfg export --config C --weights W | --checkpoint DIR
// --tower query|item|both --format safetensors|onnx --out PATH`: serving artefacts of the towers.
// safetensors: one file holding the chosen tower(s). onnx: one checked graph per tower; with
// --tower both, --out is a folder that receives query.onnx and item.onnx.
#include <gflags/gflags.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "model/tigerfg_model.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/core/safetensors.h"
#include "runtime/export/onnx_export.h"
#include "runtime/export/tower_export.h"

// Shared with embed (launcher/cmd_embed.cc); --checkpoint is in launcher/flags.h.
DECLARE_string(tower);
DEFINE_string(format, "", "export: safetensors | onnx");

namespace tigerfg::launcher {

namespace {

struct LoadedParams {
  std::vector<float> values;  // laid out by the table
  int64_t step = 0;
};

// The tower's parameters from --weights (only its tensors need be there; "step" comes from the
// file's metadata when present) or every parameter from --checkpoint.
StatusOr<LoadedParams> LoadParams(const config::RunConfig& cfg, const ParamTable& table,
                                  exporter::Tower tower) {
  if (FLAGS_weights.empty() == FLAGS_checkpoint.empty()) {
    return Status::Error("give exactly one of --weights FILE or --checkpoint DIR");
  }
  LoadedParams loaded;
  loaded.values.assign(table.total_numel(), 0.0f);
  if (!FLAGS_weights.empty()) {
    TIGERFG_RETURN_IF_ERROR(train::LoadWeights(FLAGS_weights, table, loaded.values.data(),
                                               /*require_all=*/true,
                                               exporter::TowerPrefixMap(tower)));
    TIGERFG_ASSIGN_OR_RETURN(const TensorFile file, ReadSafetensors(FLAGS_weights));
    auto step = file.metadata.find("step");
    if (step != file.metadata.end()) {
      try {
        loaded.step = std::stoll(step->second);
      } catch (const std::exception&) {
        return Status::Error(FLAGS_weights + ": metadata step '" + step->second +
                             "' is not an integer");
      }
    }
    return loaded;
  }
  TIGERFG_ASSIGN_OR_RETURN(const std::string dir, train::ResolveCheckpoint(FLAGS_checkpoint));
  TIGERFG_ASSIGN_OR_RETURN(const checkpoint::Manifest manifest, train::ReadManifest(dir));
  TIGERFG_RETURN_IF_ERROR(train::CheckSameModel(manifest, cfg.model()).WithContext(dir));
  TIGERFG_ASSIGN_OR_RETURN(
      const train::LoadedCheckpoint ckpt,
      train::LoadCheckpoint(dir, table, loaded.values.data(), nullptr, nullptr));
  loaded.step = ckpt.step;
  return loaded;
}

Status ExportOnnx(const config::ModelConfig& model, const ParamTable& table, const float* params,
                  exporter::Tower tower, const std::string& path) {
  onnx::ModelProto graph = tower == exporter::Tower::kQuery
                               ? exporter::BuildQueryTowerOnnx(model, table, params)
                               : exporter::BuildItemTowerOnnx(model, table, params);
  TIGERFG_RETURN_IF_ERROR(
      exporter::CheckOnnxModel(&graph, std::string(exporter::TowerName(tower)) + " tower"));
  TIGERFG_RETURN_IF_ERROR(exporter::WriteOnnxModel(graph, path));
  std::printf("export: %s tower -> %s (ONNX opset %d, checked)\n", exporter::TowerName(tower),
              path.c_str(), exporter::kOnnxOpset);
  return Status::Ok();
}

Status Export(const config::RunConfig& cfg) {
  if (gflags::GetCommandLineFlagInfoOrDie("tower").is_default) {
    return Status::Error("--tower is required: query, item or both");
  }
  TIGERFG_ASSIGN_OR_RETURN(const exporter::Tower tower, exporter::ParseTower(FLAGS_tower));
  if (FLAGS_format != "safetensors" && FLAGS_format != "onnx") {
    return Status::Error("--format: '" + FLAGS_format + "' is not one of safetensors, onnx");
  }
  if (FLAGS_out.empty()) return Status::Error("--out is required");
  if (FLAGS_format == "onnx" && cfg.export_().onnx_opset() != exporter::kOnnxOpset) {
    return Status::Error("export.onnx_opset: " + std::to_string(cfg.export_().onnx_opset()) +
                         " is not supported (the exporter writes opset " +
                         std::to_string(exporter::kOnnxOpset) + ")");
  }
  const ParamTable table = model::BuildParamTable(cfg.model());
  TIGERFG_ASSIGN_OR_RETURN(const LoadedParams params, LoadParams(cfg, table, tower));
  if (FLAGS_format == "safetensors") {
    TIGERFG_RETURN_IF_ERROR(exporter::ExportTowerSafetensors(
        FLAGS_out, cfg, table, params.values.data(), tower, params.step));
    std::printf("export: tower %s, step %lld -> %s\n", exporter::TowerName(tower),
                static_cast<long long>(params.step), FLAGS_out.c_str());
    return Status::Ok();
  }
  if (tower != exporter::Tower::kBoth) {
    return ExportOnnx(cfg.model(), table, params.values.data(), tower, FLAGS_out);
  }
  std::error_code error;
  std::filesystem::create_directories(FLAGS_out, error);
  if (error) return Status::Error("--out " + FLAGS_out + ": " + error.message());
  for (exporter::Tower t : {exporter::Tower::kQuery, exporter::Tower::kItem}) {
    TIGERFG_RETURN_IF_ERROR(ExportOnnx(cfg.model(), table, params.values.data(), t,
                                       FLAGS_out + "/" + exporter::TowerName(t) + ".onnx"));
  }
  return Status::Ok();
}

}  // namespace

int RunExport() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("export", cfg.status());
  const Status done = Export(*cfg);
  return done.ok() ? 0 : ReportError("export", done);
}

}  // namespace tigerfg::launcher
