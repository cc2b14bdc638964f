// runtime/data/sample_decoder.cc — per-sample decode and augmentation on loader threads.
#include "runtime/data/sample_decoder.h"

#include "runtime/data/image_ops.h"
#include "runtime/data/jpeg.h"
#include "runtime/data/target_map.h"

namespace tigerfg::data {
namespace {

// Tries per mosaic cell to find a partner of another product before leaving the cell gray.
constexpr int kMosaicPartnerTries = 4;

}  // namespace

void SampleDecoder::ToChw(const Image& image, int size, float* out, uint8_t* pixels) const {
  if (pixels != nullptr) {
    PixelsToChw(ResizeBilinear(image, size, size), pixels);
    return;
  }
  const std::vector<float> hwc = ResizeBilinearF32(image, size, size);
  NormalizeToChw(hwc.data(), size, size, image.channels, options_.mean, options_.std, out);
}

Image SampleDecoder::MosaicItem(const Image& item, int64_t product_id, Rng* augment,
                                int* target_cell_out) const {
  const int grid = options_.mosaic_grid;
  const int cells = grid * grid;
  const int target_cell = static_cast<int>(augment->Int(0, cells));
  *target_cell_out = target_cell;
  std::vector<Image> partners(cells - 1);
  std::vector<const Image*> others(cells - 1, nullptr);
  for (int i = 0; i < cells - 1; ++i) {
    for (int t = 0; t < kMosaicPartnerTries; ++t) {
      // Drawn whether or not the read succeeds, so the draw count is fixed per attempt.
      const int64_t index = augment->Int(0, dataset_->size());
      StatusOr<RawSample> raw = dataset_->Read(index);
      if (!raw.ok() || raw->product_id == product_id) continue;
      StatusOr<Image> image = DecodeJpeg(raw->item_jpeg, raw->where() + ".item.jpg");
      if (!image.ok()) continue;
      partners[i] = std::move(image).value();
      others[i] = &partners[i];
      break;
    }
  }
  return Mosaic(item, others, grid, target_cell, options_.item_size, options_.item_size);
}

Status SampleDecoder::TargetMap(const RawSample& raw, int mosaic_cell, bool flipped,
                                float* out) const {
  const std::string where = raw.where() + ".json";
  PixelBox box{double(raw.target_box[0]), double(raw.target_box[1]),   double(raw.target_box[2]),
               double(raw.target_box[3]), double(raw.target_box_size), double(raw.target_box_size)};
  if (raw.target_box_size <= 0 || box.empty()) {
    return Status::Error(where +
                         ": no target_box (with image_size) or an empty one; model.srd_target "
                         "MASK needs every training listing's product box");
  }
  if (mosaic_cell >= 0) {
    const int size = options_.item_size;
    const MosaicCell cell = MosaicCells(options_.mosaic_grid, size, size)[mosaic_cell];
    box = BoxInCell(box, cell.y0, cell.x0, cell.y1, cell.x1, size, size);
  }
  return BoxToPatchMap(box, options_.target_grid, flipped, where, out);
}

Status SampleDecoder::Decode(const RawSample& raw, Rng* augment, const SampleOutput& out) const {
  const int c = options_.channels;
  // Fixed draw order: flips, then the mosaic decision, then (only when taken) its cells.
  const bool flip_query = augment && augment->Uniform() < options_.hflip_prob;
  const bool flip_item = augment && augment->Uniform() < options_.hflip_prob;
  const bool mosaic = augment && augment->Uniform() < options_.mosaic_prob;
  if (out.query != nullptr || out.query_pixels != nullptr) {
    TIGERFG_ASSIGN_OR_RETURN(Image query, DecodeJpeg(raw.query_jpeg, raw.where() + ".query.jpg"));
    if (query.channels != c) {
      return Status::Error(raw.where() + ".query.jpg: " + std::to_string(query.channels) +
                           " channels, the model expects " + std::to_string(c));
    }
    if (flip_query) query = FlipHorizontal(query);
    ToChw(query, options_.query_size, out.query, out.query_pixels);
  }
  int mosaic_cell = -1;
  if (out.item != nullptr || out.item_pixels != nullptr) {
    TIGERFG_ASSIGN_OR_RETURN(Image item, DecodeJpeg(raw.item_jpeg, raw.where() + ".item.jpg"));
    if (item.channels != c) {
      return Status::Error(raw.where() + ".item.jpg: " + std::to_string(item.channels) +
                           " channels, the model expects " + std::to_string(c));
    }
    if (mosaic && options_.mosaic_grid > 1 && dataset_ != nullptr && dataset_->size() > 1) {
      item = MosaicItem(item, raw.product_id, augment, &mosaic_cell);
    }
    if (flip_item) item = FlipHorizontal(item);
    ToChw(item, options_.item_size, out.item, out.item_pixels);
  }
  if (out.target_map != nullptr) {
    TIGERFG_RETURN_IF_ERROR(TargetMap(raw, mosaic_cell, flip_item, out.target_map));
  }
  if (out.title_ids != nullptr) {
    const std::vector<int64_t> ids = tokenizer_->Encode(raw.title, options_.max_len);
    std::copy(ids.begin(), ids.end(), out.title_ids);
  }
  if (out.product_id != nullptr) *out.product_id = raw.product_id;
  return Status::Ok();
}

}  // namespace tigerfg::data
