// runtime/eval/serving.cc — serving-model loading and batched one-tower embedding for eval/embed.
#include "runtime/eval/serving.h"

#include <algorithm>
#include <utility>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/data/wordpiece.h"

namespace tigerfg::eval {

StatusOr<std::unique_ptr<model::TigerFGModel>> LoadServingModel(const config::RunConfig& cfg,
                                                                const ServingOptions& options,
                                                                const Context& ctx) {
  const std::string& weights = options.weights;
  const std::string& checkpoint = options.checkpoint;
  const int64_t batch = options.batch;
  if (weights.empty() == checkpoint.empty())
    return Status::Error("give exactly one of --weights FILE or --checkpoint DIR");
  if (batch <= 0) return Status::Error("--embed_batch must be positive");
  TIGERFG_ASSIGN_OR_RETURN(const config::Precision precision,
                           model::ResolvePrecision(cfg.model(), cfg.train().precision(), ctx));
  TIGERFG_ASSIGN_OR_RETURN(
      const model::AttentionKernel attention,
      model::ResolveAttention(cfg.model(), cfg.train().attention(), precision, ctx));
  auto model = std::make_unique<model::TigerFGModel>(
      cfg.model(), batch, ctx, /*world_size=*/1, precision, /*recompute_blocks=*/false, attention);
  // Parameters are read on the host and copied to the model's device once at the end.
  Buffer host(DType::kF32, Shape{model->table().total_numel()});
  model::InitParams(model->table(), cfg.model(), /*seed=*/0, host.f32());
  if (!weights.empty()) {
    // Every student tensor is required; teacher tensors only matter in training, so a serving
    // file may lack them. With a prefix map, LoadWeights loads and requires only mapped names.
    std::vector<std::pair<std::string, std::string>> student;
    for (const ParamSpec& spec : model->table().params()) {
      if (!spec.trainable) continue;
      const size_t dot = spec.name.find('.');
      const std::string family =
          dot == std::string::npos ? spec.name : spec.name.substr(0, dot + 1);
      if (std::find(student.begin(), student.end(), std::pair(family, family)) == student.end())
        student.emplace_back(family, family);
    }
    TIGERFG_RETURN_IF_ERROR(train::LoadWeights(weights, model->table(), host.f32(),
                                               /*require_all=*/true, student));
  } else {
    TIGERFG_ASSIGN_OR_RETURN(const std::string dir, train::ResolveCheckpoint(checkpoint));
    TIGERFG_RETURN_IF_ERROR(
        train::LoadCheckpoint(dir, model->table(), host.f32(), nullptr, nullptr).status());
  }
  model->CopyParamsFromHost(host.f32());
  return model;
}

Buffer EmbedBatch(model::TigerFGModel& model, const Batch& batch, Tower tower) {
  const int64_t n = batch.product_ids.numel(), e = model.embed_dim();
  const int64_t chunk = model.local_batch();
  Buffer out(DType::kF32, Shape{n, e});
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t end = std::min(n, begin + chunk);
    const Tensor emb = tower == Tower::kQuery
                           ? model.EncodeQueries(batch.query_images.tensor().Slice(begin, end))
                           : model.EncodeItems(batch.item_images.tensor().Slice(begin, end),
                                               batch.title_ids.tensor().Slice(begin, end));
    CopyToHost(model.context(), Tensor::F32(out.f32() + begin * e, emb.shape()), emb);
  }
  return out;
}

StatusOr<std::vector<int64_t>> EncodeTitle(const std::string& vocab, const std::string& text,
                                           int max_len) {
  TIGERFG_ASSIGN_OR_RETURN(data::WordPieceTokenizer tokenizer,
                           data::WordPieceTokenizer::Load(vocab));
  std::vector<int64_t> ids = tokenizer.Encode(text, max_len);
  for (int64_t id : ids) {
    if (id == tokenizer.unk_id())
      return Status::Error(vocab + ": the title '" + text + "' has a word outside the vocabulary");
  }
  return ids;
}

}  // namespace tigerfg::eval
