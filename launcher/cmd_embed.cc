// launcher/cmd_embed.cc — `tigerfg embed --config C (--weights W | --checkpoint D) --data SHARDS
// --tower query|item --out FILE`: catalogue (or query) embeddings for an index build, as
// FILE.npy (float32 [n, E]) and FILE.keys.tsv (key, product_id per line) in sample order
// (runtime/eval/embed.h). Under mpirun each rank embeds a contiguous share of the samples and
// rank 0 writes the gathered file.
#include <cstdio>

#include "comm/communicator.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/eval/embed.h"

DEFINE_string(data, "", "embed: comma-separated shard specs (paths, globs, {a,b} / {000..009})");
DEFINE_string(tower, "item", "embed: query (KEY.query.jpg) or item (KEY.item.jpg + title)");

namespace tigerfg::launcher {

namespace {

StatusOr<eval::Tower> ParseTower(const std::string& name) {
  if (name == "query") return eval::Tower::kQuery;
  if (name == "item") return eval::Tower::kItem;
  return Status::Error("--tower: expected query or item, got '" + name + "'");
}

// The flags' options and the device of this rank (the model runs on train.device, rank r on GPU
// local_rank; the gathers stay on the host).
Status Prepare(const config::RunConfig& cfg, int world, eval::EmbedOptions* options, Context* ctx) {
  TIGERFG_ASSIGN_OR_RETURN(options->tower, ParseTower(FLAGS_tower));
  options->shard_specs = SplitList(FLAGS_data);
  options->serving = ServingOptionsFromFlags();
  options->out = FLAGS_out;
  TIGERFG_ASSIGN_OR_RETURN(*ctx, SelectDevice(cfg.train().device(), world > 1 ? "mpi" : "local"));
  return Status::Ok();
}

}  // namespace

int RunEmbed() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("embed", cfg.status());
  comm::CommOptions comm_options;
  comm_options.backend = cfg->dist().backend();
  comm_options.timeout_s = cfg->dist().timeout_s();
  const Context host = Context::Cpu();
  comm_options.ctx = &host;
  auto comm = comm::CreateCommunicator(comm_options);
  if (!comm.ok()) return ReportError("embed", comm.status());
  const int rank = (*comm)->rank(), world = (*comm)->world_size();
  if (rank != 0) FLAGS_minloglevel = google::GLOG_WARNING;
  ConfigureCpuThreads(cfg->train().threads(), RanksPerNode(world));
  auto finish = [&comm](int code) {
    comm->reset();
    comm::FinalizeMpi();
    return code;
  };
  eval::EmbedOptions options;
  Context ctx = Context::Cpu();
  Status prepared = Prepare(*cfg, world, &options, &ctx);
  if (!prepared.ok()) return finish(ReportError("embed", prepared));
  auto summary = eval::RunEmbed(*cfg, options, **comm, ctx);
  if (!summary.ok()) return finish(ReportError("embed", summary.status()));
  if (rank == 0)
    std::printf("embedded %lld samples (%s tower, %lld dims) -> %s.npy, %s.keys.tsv\n",
                static_cast<long long>(summary->samples), FLAGS_tower.c_str(),
                static_cast<long long>(summary->dims), summary->base.c_str(),
                summary->base.c_str());
  return finish(0);
}

}  // namespace tigerfg::launcher
