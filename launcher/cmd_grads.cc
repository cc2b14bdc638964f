// launcher/cmd_grads.cc — `tigerfg grads --config C --weights W --batch B --out G`: the losses,
// embeddings and parameter gradients of one batch, written as the spec's `grads` writes them.
// Runs on the GPU with --device cuda (or auto with a GPU); the outputs are copied to the host.
// out/ground_map [B, N] is written whenever the model grounds (ground_layers > 0).
#include <cstdio>
#include <cstring>
#include <vector>

#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/run_setup.h"
#include "model/tigerfg_model.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/core/buffer.h"
#include "runtime/core/safetensors.h"
#include "runtime/train/step_runner.h"

namespace tigerfg::launcher {

namespace {

// Copies the batch tensors of `file` into a Batch, checking names, dtypes and shapes.
StatusOr<Batch> BatchFromFile(const TensorFile& file, const config::ModelConfig& m) {
  auto images = file.tensors.find("query_images");
  if (images == file.tensors.end())
    return Status::Error(file.origin + ": missing tensor query_images");
  if (images->second.shape().ndim() != 4)
    return Status::Error(file.origin + ": tensor query_images has shape " +
                         images->second.shape().ToString() + ", expected [B, C, H, W]");
  const int64_t b = images->second.shape()[0];
  Batch batch;
  auto copy = [&](const std::string& name, DType dtype, Shape shape, Buffer& dst) -> Status {
    TIGERFG_ASSIGN_OR_RETURN(Tensor t, file.Get(name, dtype, shape));
    dst = Buffer(dtype, shape);
    std::memcpy(dst.data(), t.data(), t.nbytes());
    return Status::Ok();
  };
  const auto& q = m.query();
  const auto& it = m.item();
  TIGERFG_RETURN_IF_ERROR(copy("query_images", DType::kF32,
                               Shape{b, q.channels(), q.image_size(), q.image_size()},
                               batch.query_images));
  TIGERFG_RETURN_IF_ERROR(copy("item_images", DType::kF32,
                               Shape{b, it.channels(), it.image_size(), it.image_size()},
                               batch.item_images));
  TIGERFG_RETURN_IF_ERROR(
      copy("title_ids", DType::kI64, Shape{b, m.text().max_len()}, batch.title_ids));
  if (file.Has("product_ids")) {
    TIGERFG_RETURN_IF_ERROR(copy("product_ids", DType::kI64, Shape{b}, batch.product_ids));
  } else {  // the spec's default: every sample its own product
    batch.product_ids = Buffer(DType::kI64, Shape{b});
    for (int64_t i = 0; i < b; ++i) batch.product_ids.i64()[i] = i;
  }
  if (m.srd_target() == config::ModelConfig::MASK) {  // SRD's target: the product-box maps
    const int64_t grid = it.patch_size() > 0 ? it.image_size() / it.patch_size() : 0;
    TIGERFG_RETURN_IF_ERROR(
        copy("target_maps", DType::kF32, Shape{b, grid * grid}, batch.target_maps));
  }
  return batch;
}

Buffer Scalar(double v) {
  Buffer b(DType::kF32, Shape{1});
  b.f32()[0] = static_cast<float>(v);
  return b;
}

}  // namespace

int RunGrads() {
  auto cfg = LoadRunConfigFromFlags();
  if (!cfg.ok()) return ReportError("grads", cfg.status());
  if (FLAGS_weights.empty() || FLAGS_batch.empty() || FLAGS_out.empty())
    return ReportError("grads", Status::Error("--weights, --batch and --out are required"));
  ConfigureCpuThreads(cfg->train().threads());
  auto file = ReadSafetensors(FLAGS_batch);
  if (!file.ok()) return ReportError("grads", file.status());
  auto batch = BatchFromFile(*file, cfg->model());
  if (!batch.ok()) return ReportError("grads", batch.status());
  Status valid = model::ValidateBatch(cfg->model(), *batch);
  if (!valid.ok()) return ReportError("grads", valid.WithContext(FLAGS_batch));

  const std::string& device = cfg->train().device();
  if (device == "cuda" && !CudaAvailable())
    return ReportError("grads", Status::Error("train.device is cuda, but no GPU is visible (or "
                                              "this tigerfg was built without the CUDA backend)"));
  const bool use_cuda = device == "cuda" || (device == "auto" && CudaAvailable());
  const Context ctx = use_cuda ? Context::Cuda(0) : Context::Cpu();
  StatusOr<config::Precision> precision =
      model::ResolvePrecision(cfg->model(), cfg->train().precision(), ctx);
  if (!precision.ok()) return ReportError("grads", precision.status());
  StatusOr<model::AttentionKernel> attention =
      model::ResolveAttention(cfg->model(), cfg->train().attention(), *precision, ctx);
  if (!attention.ok()) return ReportError("grads", attention.status());
  model::TigerFGModel net(cfg->model(), batch->size(), ctx, /*world_size=*/1, *precision,
                          /*recompute_blocks=*/false, *attention);
  const ParamTable& table = net.table();
  Buffer params(DType::kF32, Shape{table.total_numel()});
  Status loaded = train::LoadWeights(FLAGS_weights, table, params.f32(), /*require_all=*/true);
  if (!loaded.ok()) return ReportError("grads", loaded);
  net.CopyParamsFromHost(params.f32());
  train::StepRunner runner(net, /*comm=*/nullptr);
  auto step = runner.Run(*batch);
  if (!step.ok()) return ReportError("grads", step.status());
  const model::LossTerms& terms = step->local;
  Buffer grads(DType::kF32, Shape{table.trainable_numel()});
  net.CopyGradsToHost(grads.f32());
  const Buffer query_emb = ToHost(ctx, net.query_emb());
  const Buffer item_emb = ToHost(ctx, net.item_emb());
  // The grounding map exists whenever the item tower grounds (ground_layers > 0), with or
  // without a teacher; SRD only adds a loss on it.
  const bool has_ground_map = cfg->model().ground_layers() > 0;
  const Buffer ground_map = has_ground_map ? ToHost(ctx, net.ground_map()) : Buffer();

  std::vector<Buffer> scalars;
  std::vector<NamedTensor> out;
  auto add_scalar = [&](const std::string& name, double v) {
    scalars.push_back(Scalar(v));
    out.push_back({name, scalars.back().tensor()});
  };
  scalars.reserve(4);
  add_scalar("loss/total", terms.total);
  add_scalar("loss/contrastive", terms.contrastive);
  if (terms.has_srd) add_scalar("loss/srd", terms.srd);
  if (terms.has_sdd) add_scalar("loss/sdd", terms.sdd);
  out.push_back({"out/query_emb", query_emb});
  out.push_back({"out/item_emb", item_emb});
  if (has_ground_map) out.push_back({"out/ground_map", ground_map});
  for (const ParamSpec& p : table.params())
    if (p.trainable) out.push_back({"grad/" + p.name, table.View(grads.f32(), p.name)});
  Status written = WriteSafetensors(FLAGS_out, out);
  if (!written.ok()) return ReportError("grads", written);
  std::printf("{\"total\": %.9g, \"contrastive\": %.9g", terms.total, terms.contrastive);
  if (terms.has_srd) std::printf(", \"srd\": %.9g", terms.srd);
  if (terms.has_sdd) std::printf(", \"sdd\": %.9g", terms.sdd);
  std::printf("}\n");
  return 0;
}

}  // namespace tigerfg::launcher
