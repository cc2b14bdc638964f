// launcher/cmd_inspect.cc — `tigerfg inspect CHECKPOINT [--verify]`: prints a checkpoint's
// manifest (step, cursor, tensors, config); --verify reads every file and checks every crc32.
#include <gflags/gflags.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "configs/config.h"
#include "launcher/commands.h"
#include "launcher/run_setup.h"
#include "model/tigerfg_model.h"
#include "runtime/checkpoint/checkpoint.h"

DEFINE_bool(verify, false,
            "inspect: read every file and check what resume checks: each tensor's dtype, size "
            "and crc32, and the tensor set against the model of the checkpoint's own config");

namespace tigerfg::launcher {
namespace {

std::string ShapeText(const checkpoint::TensorEntry& t) {
  std::string s = "[";
  for (int i = 0; i < t.shape_size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape(i));
  return s + "]";
}

void PrintManifest(const std::string& dir, const checkpoint::Manifest& manifest) {
  std::printf("checkpoint: %s\n", dir.c_str());
  std::printf("step: %" PRId64 "\n", manifest.step());
  std::printf("cursor: %" PRId64 " global samples\n", manifest.cursor());
  std::printf("world_size: %d\n", manifest.world_size());
  for (const checkpoint::RngState& r : manifest.rng())
    std::printf("rng %s: seed %" PRId64 " counter %" PRId64 "\n", r.name().c_str(), r.seed(),
                r.counter());
  std::printf("files:\n");
  for (const checkpoint::FileEntry& f : manifest.files())
    std::printf("  %-24s %14" PRId64 " bytes\n", f.name().c_str(), f.size());
  // Totals per group ("params", "adamw.m", "adamw.v").
  std::map<std::string, std::pair<int64_t, int64_t>> groups;  // name -> (tensors, bytes)
  std::printf("tensors: %d\n", manifest.tensors_size());
  for (const checkpoint::TensorEntry& t : manifest.tensors()) {
    std::printf("  %-56s %s %-18s %12" PRId64 " bytes  %s@%" PRId64 "  crc32 %08x\n",
                t.name().c_str(), t.dtype().c_str(), ShapeText(t).c_str(), t.length(),
                t.file().c_str(), t.offset(), t.crc32());
    auto& [count, bytes] = groups[t.name().substr(0, t.name().find('/'))];
    ++count;
    bytes += t.length();
  }
  for (const auto& [group, totals] : groups)
    std::printf("total %s: %" PRId64 " tensors, %" PRId64 " bytes\n", group.c_str(), totals.first,
                totals.second);
  std::printf("config:\n%s", manifest.config().c_str());
}

}  // namespace

int RunInspect(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: tigerfg inspect CHECKPOINT [--verify]\n"
                 "  CHECKPOINT: a checkpoint directory, a checkpoint root (its latest) or a run's "
                 "--out_dir\n");
    return 2;
  }
  auto dir = train::ResolveCheckpoint(argv[1]);
  if (!dir.ok()) return ReportError("inspect", dir.status());
  auto manifest = train::ReadManifest(*dir);
  if (!manifest.ok()) return ReportError("inspect", manifest.status());
  PrintManifest(*dir, *manifest);
  if (FLAGS_verify) {
    // The model the checkpoint's own config describes: the tensor set resume would ask for.
    auto saved = config::ParseConfigText(manifest->config(), *dir + ": the checkpoint's config");
    if (!saved.ok()) return ReportError("inspect", saved.status());
    const ParamTable table = model::BuildParamTable(saved->model());
    Status verified = train::VerifyCheckpoint(*dir, *manifest, &table);
    if (!verified.ok()) return ReportError("inspect", verified);
    std::printf(
        "verify: OK (%d tensors, every dtype, size and crc32 matches; the tensor set is the "
        "model's)\n",
        manifest->tensors_size());
  }
  return 0;
}

}  // namespace tigerfg::launcher
