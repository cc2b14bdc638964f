// model/input_staging.cc — stages a batch's titles, key mask and images for the model's forward
// (host F32/U8 batches; on CUDA through the device buffers or the U8 input ring).
#include "model/input_staging.h"

#include <vector>

#include "ops/cast.h"
#include "ops/images.h"
#include "ops/tensor_ops.h"
#include "runtime/core/buffer.h"

namespace tigerfg::model {

namespace {
// Slots of the CUDA input ring: the batch being encoded, the one staged ahead (StageAhead) and
// one whose copy may still be in flight.
constexpr int kRingSlots = 3;
}  // namespace

InputStaging::InputStaging(const Context* context, const config::ModelConfig& cfg, int64_t rows)
    : ctx(context) {
  title_ids = Buffer(DType::kI64, Shape{rows, cfg.text().max_len()});
  key_valid = Buffer(DType::kU8, Shape{rows, cfg.text().max_len()});
  if (ctx->is_cuda()) {
    const config::ViTConfig& q = cfg.query();
    const config::ViTConfig& it = cfg.item();
    dev_title_ids = Buffer(*ctx, DType::kI64, title_ids.shape());
    dev_key_valid = Buffer(*ctx, DType::kU8, key_valid.shape());
    dev_query_images =
        Buffer(*ctx, DType::kF32, Shape{rows, q.channels(), q.image_size(), q.image_size()});
    dev_item_images =
        Buffer(*ctx, DType::kF32, Shape{rows, it.channels(), it.image_size(), it.image_size()});
    dev_product_ids = Buffer(*ctx, DType::kI64, Shape{rows});
  }
}

InputStaging::Inputs InputStaging::Stage(const Batch& batch) {
  const bool pixels = batch.query_images.dtype() == DType::kU8;
  Inputs in{batch.query_images, batch.item_images, title_ids.tensor(), key_valid.tensor()};
  std::pair<Tensor, Tensor> ids_and_maps;
  if (ctx->is_cuda() && pixels) {
    const int pre_staged = TakeStaged(batch);
    ids_and_maps = UnpackRing(batch, pre_staged >= 0 ? pre_staged : StageOnRing(batch));
  } else {
    // Stage the titles: the mask is derived on the host, where the batch lives.
    StageTitles(batch);
  }
  if (ctx->is_cuda()) {
    in = {dev_query_images.tensor(), dev_item_images.tensor(), dev_title_ids.tensor(),
          dev_key_valid.tensor(),    ids_and_maps.first,       ids_and_maps.second};
    if (!pixels) {
      CopyFromHost(*ctx, in.query_images, batch.query_images);
      CopyFromHost(*ctx, in.item_images, batch.item_images);
      CopyFromHost(*ctx, in.title_ids, title_ids.tensor());
      CopyFromHost(*ctx, in.key_valid, key_valid.tensor());
    }
  } else if (pixels) {
    if (host_query_images.data() == nullptr) {
      host_query_images = Buffer(DType::kF32, batch.query_images.shape());
      host_item_images = Buffer(DType::kF32, batch.item_images.shape());
    }
    in.query_images = host_query_images.tensor();
    in.item_images = host_item_images.tensor();
    ops::NormalizeImages(*ctx, in.query_images, batch.query_images, batch.image_norm);
    ops::NormalizeImages(*ctx, in.item_images, batch.item_images, batch.image_norm);
  }
  return in;
}

void InputStaging::StageAhead(const Batch& batch) {
  if (!ctx->is_cuda() || batch.query_images.dtype() != DType::kU8) return;
  const int slot = StageOnRing(batch);  // drops an older entry of the slot
  staged.push_back({batch.query_images.data(), batch.first_sample, slot});
}

Tensor InputStaging::OnDevice(const Buffer& staging, const Tensor& host) const {
  if (!ctx->is_cuda()) return host;
  CopyFromHost(*ctx, staging.tensor(), host);
  return staging.tensor();
}

void InputStaging::StageTitles(const Batch& batch) {
  const int64_t* ids = batch.title_ids.i64();
  int64_t* staged_ids = title_ids.i64();
  auto* valid_keys = static_cast<uint8_t*>(key_valid.data());
  for (int64_t i = 0; i < title_ids.numel(); ++i) {
    staged_ids[i] = ids[i];
    valid_keys[i] = ids[i] != 0 ? 1 : 0;
  }
}

int InputStaging::StageOnRing(const Batch& batch) {
  StageTitles(batch);
  std::vector<InputRing::Span> parts = {{batch.query_images.data(), batch.query_images.nbytes()},
                                        {batch.item_images.data(), batch.item_images.nbytes()},
                                        {title_ids.data(), title_ids.nbytes()},
                                        {key_valid.data(), key_valid.nbytes()},
                                        {batch.product_ids.data(), batch.product_ids.nbytes()}};
  if (batch.target_maps.data() != nullptr)
    parts.push_back({batch.target_maps.data(), batch.target_maps.nbytes()});
  if (!ring) {
    std::vector<size_t> sizes;
    for (const InputRing::Span& p : parts) sizes.push_back(p.bytes);
    ring = std::make_unique<InputRing>(*ctx, InputRing::SlotBytes(sizes), kRingSlots);
  }
  const int slot = ring->Stage(parts);
  // A batch staged ahead into this slot is gone (chunks are staged inside EncodeForward too).
  std::erase_if(staged, [slot](const Staged& s) { return s.slot == slot; });
  return slot;
}

std::pair<Tensor, Tensor> InputStaging::UnpackRing(const Batch& batch, int slot) {
  auto part = [&](int i, const Buffer& like) {
    return Tensor(ring->Acquire(slot, i), like.dtype(), like.shape(), Device::kCuda);
  };
  ops::NormalizeImages(*ctx, dev_query_images.tensor(), part(0, batch.query_images),
                       batch.image_norm);
  ops::NormalizeImages(*ctx, dev_item_images.tensor(), part(1, batch.item_images),
                       batch.image_norm);
  ops::Cast(*ctx, dev_title_ids.tensor(), part(2, title_ids));
  ops::Cast(*ctx, dev_key_valid.tensor(), part(3, key_valid));
  ops::Copy(*ctx, dev_product_ids.tensor(), part(4, batch.product_ids));
  Tensor maps;
  if (batch.target_maps.data() != nullptr) {
    if (dev_target_maps.data() == nullptr)
      dev_target_maps = Buffer(*ctx, DType::kF32, batch.target_maps.shape());
    maps = dev_target_maps.tensor();
    ops::Copy(*ctx, maps, part(5, batch.target_maps));
  }
  ring->Release(slot);  // the copies above are the slot's last readers
  return {dev_product_ids.tensor(), maps};
}

int InputStaging::TakeStaged(const Batch& batch) {
  while (!staged.empty()) {
    const Staged s = staged.front();
    staged.pop_front();
    if (s.query == batch.query_images.data() && s.first_sample == batch.first_sample) {
      return s.slot;
    }
  }
  return -1;
}

}  // namespace tigerfg::model
