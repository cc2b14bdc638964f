// runtime/eval/teacher_check.cc — the teacher's SRD map on held-out listings (see the header).
#include "runtime/eval/teacher_check.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "model/teacher.h"
#include "model/tigerfg_model.h"
#include "runtime/checkpoint/weights_io.h"
#include "runtime/core/arena.h"
#include "runtime/core/buffer.h"
#include "runtime/data/target_map.h"

namespace tigerfg::eval {

namespace {

constexpr int64_t kPairsPerForward = 64;

// maps[b, N] = softmax_n(patches[i, n] · cls[i] / tau) (both normalised by the teacher).
void TeacherMaps(const Tensor& patches, const Tensor& cls, int64_t rows, float tau, float* maps) {
  const int64_t n = patches.dim(1), e = patches.dim(2);
  for (int64_t i = 0; i < rows; ++i) {
    double max_logit = -1e30;
    std::vector<double> logits(n);
    for (int64_t k = 0; k < n; ++k) {
      double dot = 0;
      for (int64_t c = 0; c < e; ++c)
        dot += double(patches.f32()[(i * n + k) * e + c]) * cls.f32()[i * e + c];
      logits[k] = dot / tau;
      max_logit = std::max(max_logit, logits[k]);
    }
    double sum = 0;
    for (double& l : logits) sum += (l = std::exp(l - max_logit));
    for (int64_t k = 0; k < n; ++k) maps[i * n + k] = static_cast<float>(logits[k] / sum);
  }
}

}  // namespace

StatusOr<ProductMass> MeasureTeacherMass(const config::RunConfig& cfg, const TeacherSource& source,
                                         const std::string& dir,
                                         const data::LoaderOptions& loader) {
  const config::ModelConfig& m = cfg.model();
  if (!m.has_teacher()) return Status::Error("the config has no model.teacher to measure");
  const config::ViTConfig& t = m.teacher();
  if (t.image_size() != m.query().image_size() || t.image_size() != m.item().image_size())
    return Status::Error(
        "model.teacher.image_size: the teacher check needs the query and item "
        "image sizes to equal the teacher's");
  const ParamTable table = model::BuildParamTable(m);
  Buffer params(DType::kF32, Shape{table.total_numel()});
  model::InitParams(table, m, /*seed=*/0, params.f32());
  TIGERFG_RETURN_IF_ERROR(train::LoadWeights(source.weights, table, params.f32(),
                                             /*require_all=*/true, {{source.prefix, "teacher."}}));
  const Context ctx = Context::Cpu();
  ActivationArena arena(ctx);
  const model::ParamStore store(&table, params.f32(), nullptr, Device::kCpu);
  // The check runs in FP32 on the CPU, where the unfused kernel is the reference.
  model::Teacher teacher(store, t, kPairsPerForward, &arena, model::AttentionKernel::kUnfused);
  arena.Allocate();

  TIGERFG_ASSIGN_OR_RETURN(const std::vector<ListingMeta> meta,
                           ReadListingMeta(dir, data::EvalPart::kGallery));
  TIGERFG_ASSIGN_OR_RETURN(auto queries,
                           data::EvalSet::Open(dir, data::EvalPart::kQueries, loader));
  TIGERFG_ASSIGN_OR_RETURN(auto gallery,
                           data::EvalSet::Open(dir, data::EvalPart::kGallery, loader));
  TIGERFG_ASSIGN_OR_RETURN(const Batch all_queries, queries->Read(0, queries->size()));
  std::map<int64_t, int64_t> query_of_product;  // product id -> its first query row
  for (int64_t i = all_queries.product_ids.numel() - 1; i >= 0; --i)
    query_of_product[all_queries.product_ids.i64()[i]] = i;
  const int64_t side = t.image_size(), n = (side / t.patch_size()) * (side / t.patch_size());
  const int64_t image_floats = 3 * side * side;
  Buffer query_images(DType::kF32, Shape{kPairsPerForward, 3, side, side});
  Buffer item_images(DType::kF32, Shape{kPairsPerForward, 3, side, side});
  std::vector<float> maps(kPairsPerForward * n);
  ProductMass mass;
  for (int64_t begin = 0; begin < gallery->size(); begin += kPairsPerForward) {
    const int64_t end = std::min(gallery->size(), begin + kPairsPerForward);
    TIGERFG_ASSIGN_OR_RETURN(const Batch items, gallery->Read(begin, end));
    std::vector<std::vector<uint8_t>> masks(kPairsPerForward);
    int64_t rows = 0;
    for (int64_t g = begin; g < end; ++g) {
      auto q = query_of_product.find(items.product_ids.i64()[g - begin]);
      std::vector<uint8_t> mask = ProductPatches(meta[g], side, t.patch_size());
      if (q == query_of_product.end() || mask.empty()) continue;
      std::copy_n(all_queries.query_images.f32() + q->second * image_floats, image_floats,
                  query_images.f32() + rows * image_floats);
      std::copy_n(items.item_images.f32() + (g - begin) * image_floats, image_floats,
                  item_images.f32() + rows * image_floats);
      masks[rows++] = std::move(mask);
    }
    if (rows == 0) continue;
    teacher.Forward(ctx, query_images, item_images);  // rows past `rows` are stale and unused
    TeacherMaps(teacher.patches(), teacher.query_cls(), rows, m.tau_map(), maps.data());
    AddProductMass(maps.data(), rows, n, masks, &mass);
  }
  FinishProductMass(&mass);
  return mass;
}

StatusOr<ProductMass> MeasureMaskTeacherMass(const config::ModelConfig& model,
                                             const std::string& dir) {
  const config::ViTConfig& item = model.item();
  const int grid = item.patch_size() > 0 ? item.image_size() / item.patch_size() : 0;
  const int64_t n = int64_t{grid} * grid;
  TIGERFG_ASSIGN_OR_RETURN(const std::vector<ListingMeta> meta,
                           ReadListingMeta(dir, data::EvalPart::kGallery));
  ProductMass mass;
  std::vector<float> map(n);
  for (size_t g = 0; g < meta.size(); ++g) {
    std::vector<std::vector<uint8_t>> mask = {
        ProductPatches(meta[g], item.image_size(), item.patch_size())};
    if (mask[0].empty()) continue;
    const ListingMeta& m = meta[g];
    const data::PixelBox box{double(m.box[0]), double(m.box[1]),     double(m.box[2]),
                             double(m.box[3]), double(m.image_size), double(m.image_size)};
    TIGERFG_RETURN_IF_ERROR(data::BoxToPatchMap(
        box, grid, /*flipped=*/false, dir + " gallery listing " + std::to_string(g), map.data()));
    AddProductMass(map.data(), 1, n, mask, &mass);
  }
  FinishProductMass(&mass);
  return mass;
}

std::string DescribeTeacherMass(const ProductMass& mass, bool mask) {
  char text[260];
  std::snprintf(text, sizeof(text),
                "the %s puts %.3f on the product, a uniform map %.3f (%lld held-out listings)%s",
                mask ? "mask teacher (the product box as SRD's target)" : "teacher's SRD map",
                mass.on_product, mass.uniform, static_cast<long long>(mass.listings),
                mask ? "; an upper bound by construction, not a learned teacher" : "");
  return text;
}

}  // namespace tigerfg::eval
