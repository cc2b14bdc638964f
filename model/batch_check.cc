// model/batch_check.cc — ValidateBatch: a batch's tensors against the model's shapes and ranges.
#include <string>

#include "model/tigerfg_model.h"

namespace tigerfg::model {

namespace {

Status CheckTensor(const std::string& name, const Buffer& t, DType dtype, const Shape& shape) {
  if (t.shape().ndim() == 0 || t.data() == nullptr) {
    return Status::Error("batch." + name + " is missing (expected " + DTypeName(dtype) + " " +
                         shape.ToString() + ")");
  }
  if (t.dtype() != dtype) {
    return Status::Error("batch." + name + " is " + DTypeName(t.dtype()) + ", expected " +
                         DTypeName(dtype));
  }
  if (t.shape() != shape) {
    return Status::Error("batch." + name + " has shape " + t.shape().ToString() + ", expected " +
                         shape.ToString());
  }
  return Status::Ok();
}

}  // namespace

Status ValidateBatch(const config::ModelConfig& cfg, const Batch& batch) {
  const int64_t b = batch.size();
  if (b <= 0) return Status::Error("batch.query_images is missing or holds no sample");
  const config::ViTConfig& q = cfg.query();
  const config::ViTConfig& it = cfg.item();
  // Images are F32 (normalised) or U8 (pixels, normalised by the model with batch.image_norm).
  const DType images = batch.query_images.dtype() == DType::kU8 ? DType::kU8 : DType::kF32;
  TIGERFG_RETURN_IF_ERROR(CheckTensor("query_images", batch.query_images, images,
                                      Shape{b, q.channels(), q.image_size(), q.image_size()}));
  TIGERFG_RETURN_IF_ERROR(CheckTensor("item_images", batch.item_images, images,
                                      Shape{b, it.channels(), it.image_size(), it.image_size()}));
  if (images == DType::kU8 && batch.image_norm.channels != q.channels()) {
    return Status::Error("batch.image_norm has " + std::to_string(batch.image_norm.channels) +
                         " channels, the images " + std::to_string(q.channels()));
  }
  TIGERFG_RETURN_IF_ERROR(
      CheckTensor("title_ids", batch.title_ids, DType::kI64, Shape{b, cfg.text().max_len()}));
  TIGERFG_RETURN_IF_ERROR(CheckTensor("product_ids", batch.product_ids, DType::kI64, Shape{b}));
  if (cfg.srd_target() == config::ModelConfig::MASK && cfg.ground_layers() > 0 && cfg.w_srd() > 0) {
    const int64_t grid = it.patch_size() > 0 ? it.image_size() / it.patch_size() : 0;
    TIGERFG_RETURN_IF_ERROR(
        CheckTensor("target_maps", batch.target_maps, DType::kF32, Shape{b, grid * grid}));
  }
  const int64_t* ids = batch.title_ids.i64();
  const int64_t vocab = cfg.text().vocab_size();
  for (int64_t i = 0; i < batch.title_ids.numel(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      const int64_t len = cfg.text().max_len();
      return Status::Error("batch.title_ids[" + std::to_string(i / len) + ", " +
                           std::to_string(i % len) + "] = " + std::to_string(ids[i]) +
                           " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace tigerfg::model
