// runtime/eval/embed.cc — sharded one-tower embedding of a WebDataset, gathered to rank 0.
#include "runtime/eval/embed.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

#include "runtime/data/loader.h"
#include "runtime/data/sample_decoder.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"
#include "runtime/eval/npy.h"
#include "runtime/train/rank_agreement.h"

namespace tigerfg::eval {

namespace {

// What one rank embeds: the dataset and the decoder of its tower.
struct EmbedInput {
  Tower tower = Tower::kItem;
  std::vector<std::string> shards;  // expanded paths
  std::unique_ptr<data::WebDataset> dataset;
  std::unique_ptr<data::WordPieceTokenizer> tokenizer;
  std::unique_ptr<data::SampleDecoder> decoder;
  std::unique_ptr<model::TigerFGModel> model;
};

Status OpenInput(const config::RunConfig& cfg, const EmbedOptions& options, int rank, int world,
                 const Context& ctx, EmbedInput* in) {
  in->tower = options.tower;
  if (options.out.empty()) return Status::Error("--out FILE is required");
  if (options.shard_specs.empty()) return Status::Error("--data: no shards given");
  TIGERFG_ASSIGN_OR_RETURN(in->shards, data::ExpandShardSpecs(options.shard_specs));
  TIGERFG_ASSIGN_OR_RETURN(
      in->dataset,
      data::WebDataset::Open(options.shard_specs,
                             in->tower == Tower::kQuery ? data::kQueryImage : data::kItemImage));
  if (!in->dataset->shard_errors().empty())
    return Status::Error(in->dataset->shard_errors().front());
  if (in->dataset->size() == 0) return Status::Error("--data: the shards hold no sample");
  TIGERFG_ASSIGN_OR_RETURN(data::LoaderOptions loader,
                           data::LoaderOptionsFromConfig(cfg, rank, world));
  if (in->tower == Tower::kItem) {
    if (loader.vocab.empty())
      return Status::Error("data.vocab is required to tokenise item titles (--set data.vocab=...)");
    TIGERFG_ASSIGN_OR_RETURN(data::WordPieceTokenizer t,
                             data::WordPieceTokenizer::Load(loader.vocab));
    if (t.vocab_size() > cfg.model().text().vocab_size())
      return Status::Error(loader.vocab + ": " + std::to_string(t.vocab_size()) +
                           " tokens exceed model.text.vocab_size");
    in->tokenizer = std::make_unique<data::WordPieceTokenizer>(std::move(t));
  }
  in->decoder = std::make_unique<data::SampleDecoder>(in->dataset.get(), in->tokenizer.get(),
                                                      loader.transform);
  TIGERFG_ASSIGN_OR_RETURN(in->model, LoadServingModel(cfg, options.serving, ctx));
  return Status::Ok();
}

// Rows [first, first + rows) decoded without augmentation into a batch of the input's tower.
StatusOr<Batch> DecodeRows(EmbedInput& in, int64_t first, int64_t rows) {
  const data::TransformOptions& t = in.decoder->options();
  const bool query = in.tower == Tower::kQuery;
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
  return batch;
}

// Samples [begin, end) embedded: emb [n, E], ids [n].
Status EmbedRange(EmbedInput& in, int64_t begin, int64_t end, float* emb, int64_t* ids) {
  const int64_t e = in.model->embed_dim();
  for (int64_t first = begin; first < end; first += kReadRows) {
    const int64_t rows = std::min(end, first + kReadRows) - first;
    TIGERFG_ASSIGN_OR_RETURN(const Batch batch, DecodeRows(in, first, rows));
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

Status WriteOutputs(const EmbedInput& in, const std::string& base, const Buffer& emb,
                    const Buffer& ids) {
  const int64_t n = ids.numel();
  TIGERFG_RETURN_IF_ERROR(WriteNpyF32(base + ".npy", emb.f32(), n, in.model->embed_dim()));
  std::ofstream keys(base + ".keys.tsv");
  for (int64_t i = 0; i < n; ++i)
    keys << KeyOf(*in.dataset, in.shards, i) << '\t' << ids.i64()[i] << '\n';
  keys.close();
  if (!keys) return Status::Error(base + ".keys.tsv: write failed");
  return Status::Ok();
}

// Every rank's share gathered in rank order = sample order (contiguous shares).
void GatherShares(comm::Communicator& comm, int64_t n, int64_t e, const Buffer& local_emb,
                  const Buffer& local_ids, Buffer* emb, Buffer* ids) {
  const int rank = comm.rank(), world = comm.world_size();
  const int64_t mine = n * (rank + 1) / world - n * rank / world;
  std::vector<int64_t> rows(world), emb_counts(world);
  for (int r = 0; r < world; ++r) {
    rows[r] = n * (r + 1) / world - n * r / world;
    emb_counts[r] = rows[r] * e;
  }
  comm.AllGatherV(emb->tensor().View(Shape{n * e}),
                  local_emb.tensor().View(Shape{local_emb.numel()}).Slice(0, mine * e), emb_counts,
                  "embeddings")
      ->Wait();
  comm.AllGatherV(ids->tensor(), local_ids.tensor().Slice(0, mine), rows, "product_ids")->Wait();
}

}  // namespace

StatusOr<EmbedSummary> RunEmbed(const config::RunConfig& cfg, const EmbedOptions& options,
                                comm::Communicator& comm, const Context& ctx) {
  const Context host = Context::Cpu();  // the agreement and the gathers stay on the host
  train::RankAgreement agree(comm, host);
  const int rank = comm.rank(), world = comm.world_size();
  EmbedInput in;
  Status st = OpenInput(cfg, options, rank, world, ctx, &in);
  if (!agree.AllOk(st.ok())) return st.ok() ? Status::Error("another rank failed") : st;
  const int64_t n = in.dataset->size(), e = in.model->embed_dim();
  const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
  Buffer local_emb(DType::kF32, Shape{std::max<int64_t>(end - begin, 1), e});
  Buffer local_ids(DType::kI64, Shape{std::max<int64_t>(end - begin, 1)});
  st = EmbedRange(in, begin, end, local_emb.f32(), local_ids.i64());
  if (!agree.AllOk(st.ok())) return st.ok() ? Status::Error("another rank failed") : st;

  Buffer emb(DType::kF32, Shape{n, e}), ids(DType::kI64, Shape{n});
  GatherShares(comm, n, e, local_emb, local_ids, &emb, &ids);
  EmbedSummary summary{n, e, options.out};
  std::string& base = summary.base;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0)
    base.resize(base.size() - 4);
  if (rank == 0) st = WriteOutputs(in, base, emb, ids);
  if (!agree.AllOk(st.ok())) return st.ok() ? Status::Error("writing failed on rank 0") : st;
  return summary;
}

}  // namespace tigerfg::eval
