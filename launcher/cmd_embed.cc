// launcher/cmd_embed.cc — `tigerfg embed --config C (--weights W | --checkpoint D) --data SHARDS
// --tower query|item --out FILE`: catalogue (or query) embeddings for an index build, as
// FILE.npy (float32 [n, E]) and FILE.keys.tsv (key, product_id per line) in sample order. Under
// mpirun each rank embeds a contiguous share of the samples and rank 0 writes the gathered file.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "comm/communicator.h"
#include "launcher/commands.h"
#include "launcher/embedding.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "runtime/data/loader.h"
#include "runtime/data/sample_decoder.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"
#include "runtime/eval/npy.h"
#include "runtime/train/rank_agreement.h"

DEFINE_string(data, "", "embed: comma-separated shard specs (paths, globs, {a,b} / {000..009})");
DEFINE_string(tower, "item", "embed: query (KEY.query.jpg) or item (KEY.item.jpg + title)");

namespace tigerfg::launcher {

namespace {

// What one rank embeds: the dataset and the decoder of its tower.
struct EmbedInput {
  config::RunConfig cfg;
  Tower tower = Tower::kItem;
  std::vector<std::string> shards;  // expanded paths
  std::unique_ptr<data::WebDataset> dataset;
  std::unique_ptr<data::WordPieceTokenizer> tokenizer;
  std::unique_ptr<data::SampleDecoder> decoder;
  std::unique_ptr<model::TigerFGModel> model;
};

Status OpenInput(int rank, int world, EmbedInput* in) {
  TIGERFG_ASSIGN_OR_RETURN(in->cfg, LoadRunConfigFromFlags());
  TIGERFG_ASSIGN_OR_RETURN(in->tower, ParseTower(FLAGS_tower));
  if (FLAGS_out.empty()) return Status::Error("--out FILE is required");
  const std::vector<std::string> specs = SplitList(FLAGS_data);
  if (specs.empty()) return Status::Error("--data: no shards given");
  TIGERFG_ASSIGN_OR_RETURN(in->shards, data::ExpandShardSpecs(specs));
  TIGERFG_ASSIGN_OR_RETURN(
      in->dataset, data::WebDataset::Open(
                       specs, in->tower == Tower::kQuery ? data::kQueryImage : data::kItemImage));
  if (!in->dataset->shard_errors().empty())
    return Status::Error(in->dataset->shard_errors().front());
  if (in->dataset->size() == 0) return Status::Error("--data: the shards hold no sample");
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions options,
                           data::LoaderOptionsFromConfig(in->cfg, rank, world));
  if (in->tower == Tower::kItem) {
    if (options.vocab.empty())
      return Status::Error("data.vocab is required to tokenise item titles (--set data.vocab=...)");
    TIGERFG_ASSIGN_OR_RETURN(data::WordPieceTokenizer t,
                             data::WordPieceTokenizer::Load(options.vocab));
    if (t.vocab_size() > in->cfg.model().text().vocab_size())
      return Status::Error(options.vocab + ": " + std::to_string(t.vocab_size()) +
                           " tokens exceed model.text.vocab_size");
    in->tokenizer = std::make_unique<data::WordPieceTokenizer>(std::move(t));
  }
  in->decoder = std::make_unique<data::SampleDecoder>(in->dataset.get(), in->tokenizer.get(),
                                                      options.transform);
  // The model runs on train.device (rank r on GPU local_rank); the gathers stay on the host.
  TIGERFG_ASSIGN_OR_RETURN(const Context ctx,
                           SelectDevice(in->cfg.train().device(), world > 1 ? "mpi" : "local"));
  TIGERFG_ASSIGN_OR_RETURN(in->model, LoadServingModel(in->cfg, FLAGS_weights, FLAGS_checkpoint,
                                                       FLAGS_embed_batch, ctx));
  return Status::Ok();
}

// Samples [begin, end) decoded without augmentation and embedded: emb [n, E], ids [n].
Status EmbedRange(EmbedInput& in, int64_t begin, int64_t end, float* emb, int64_t* ids) {
  const data::TransformOptions& t = in.decoder->options();
  const int64_t e = in.model->embed_dim();
  const bool query = in.tower == Tower::kQuery;
  for (int64_t first = begin; first < end; first += kReadRows) {
    const int64_t rows = std::min(end, first + kReadRows) - first;
    Batch batch;
    if (query) {
      batch.query_images = Buffer(DType::kF32, Shape{rows, t.channels, t.query_size, t.query_size});
    } else {
      batch.item_images = Buffer(DType::kF32, Shape{rows, t.channels, t.item_size, t.item_size});
      batch.title_ids = Buffer(DType::kI64, Shape{rows, t.max_len});
    }
    batch.product_ids = Buffer(DType::kI64, Shape{rows});
    std::vector<Status> status(rows, Status::Ok());
#pragma omp parallel for schedule(dynamic)
    for (int64_t row = 0; row < rows; ++row) {
      data::SampleOutput out;
      const int64_t image =
          int64_t{t.channels} * (query ? t.query_size * t.query_size : t.item_size * t.item_size);
      (query ? out.query : out.item) =
          (query ? batch.query_images : batch.item_images).f32() + row * image;
      if (!query) out.title_ids = batch.title_ids.i64() + row * t.max_len;
      out.product_id = batch.product_ids.i64() + row;
      StatusOr<data::RawSample> raw = in.dataset->Read(first + row);
      status[row] = raw.ok() ? in.decoder->Decode(*raw, /*augment=*/nullptr, out) : raw.status();
    }
    for (const Status& st : status) TIGERFG_RETURN_IF_ERROR(st);
    const Buffer batch_emb = EmbedBatch(*in.model, batch, in.tower);
    std::memcpy(emb + (first - begin) * e, batch_emb.f32(), batch_emb.nbytes());
    std::memcpy(ids + (first - begin), batch.product_ids.i64(), rows * sizeof(int64_t));
  }
  return Status::Ok();
}

// The sample's key: Where() is "SHARD_PATH:KEY" and the shard path is one of `shards`.
std::string KeyOf(const data::WebDataset& dataset, const std::vector<std::string>& shards,
                  int64_t index) {
  const std::string where = dataset.Where(index);
  size_t best = 0;
  for (const std::string& s : shards)
    if (s.size() > best && where.size() > s.size() && where.compare(0, s.size(), s) == 0 &&
        where[s.size()] == ':')
      best = s.size();
  return where.substr(best == 0 ? 0 : best + 1);
}

Status WriteOutputs(const EmbedInput& in, const Buffer& emb, const Buffer& ids) {
  std::string base = FLAGS_out;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0)
    base.resize(base.size() - 4);
  const int64_t n = ids.numel();
  TIGERFG_RETURN_IF_ERROR(eval::WriteNpyF32(base + ".npy", emb.f32(), n, in.model->embed_dim()));
  std::ofstream keys(base + ".keys.tsv");
  for (int64_t i = 0; i < n; ++i)
    keys << KeyOf(*in.dataset, in.shards, i) << '\t' << ids.i64()[i] << '\n';
  keys.close();
  if (!keys) return Status::Error(base + ".keys.tsv: write failed");
  std::printf("embedded %lld samples (%s tower, %lld dims) -> %s.npy, %s.keys.tsv\n",
              static_cast<long long>(n), FLAGS_tower.c_str(),
              static_cast<long long>(in.model->embed_dim()), base.c_str(), base.c_str());
  return Status::Ok();
}

}  // namespace

int RunEmbed() {
  auto base_cfg = LoadRunConfigFromFlags();
  if (!base_cfg.ok()) return ReportError("embed", base_cfg.status());
  comm::CommOptions comm_options;
  comm_options.backend = base_cfg->dist().backend();
  comm_options.timeout_s = base_cfg->dist().timeout_s();
  Context ctx = Context::Cpu();
  comm_options.ctx = &ctx;
  auto comm = comm::CreateCommunicator(comm_options);
  if (!comm.ok()) return ReportError("embed", comm.status());
  comm::Communicator& c = **comm;
  train::RankAgreement agree(c, ctx);
  const int rank = c.rank(), world = c.world_size();
  if (rank != 0) FLAGS_minloglevel = google::GLOG_WARNING;
  ConfigureCpuThreads(base_cfg->train().threads(), RanksPerNode(world));
  auto finish = [&comm](int code) {
    comm->reset();
    comm::FinalizeMpi();
    return code;
  };

  EmbedInput in;
  Status st = OpenInput(rank, world, &in);
  if (!agree.AllOk(st.ok()))
    return finish(ReportError("embed", st.ok() ? Status::Error("another rank failed") : st));
  const int64_t n = in.dataset->size(), e = in.model->embed_dim();
  const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
  Buffer local_emb(DType::kF32, Shape{std::max<int64_t>(end - begin, 1), e});
  Buffer local_ids(DType::kI64, Shape{std::max<int64_t>(end - begin, 1)});
  st = EmbedRange(in, begin, end, local_emb.f32(), local_ids.i64());
  if (!agree.AllOk(st.ok()))
    return finish(ReportError("embed", st.ok() ? Status::Error("another rank failed") : st));

  // Gather in rank order = sample order (contiguous shares).
  std::vector<int64_t> rows(world), emb_counts(world);
  for (int r = 0; r < world; ++r) {
    rows[r] = n * (r + 1) / world - n * r / world;
    emb_counts[r] = rows[r] * e;
  }
  Buffer emb(DType::kF32, Shape{n, e}), ids(DType::kI64, Shape{n});
  c.AllGatherV(emb.tensor().View(Shape{n * e}),
               local_emb.tensor().View(Shape{local_emb.numel()}).Slice(0, (end - begin) * e),
               emb_counts, "embeddings")
      ->Wait();
  c.AllGatherV(ids.tensor(), local_ids.tensor().Slice(0, end - begin), rows, "product_ids")->Wait();
  if (rank == 0) st = WriteOutputs(in, emb, ids);
  if (!agree.AllOk(st.ok()))
    return finish(ReportError("embed", st.ok() ? Status::Error("writing failed on rank 0") : st));
  return finish(0);
}

}  // namespace tigerfg::launcher
