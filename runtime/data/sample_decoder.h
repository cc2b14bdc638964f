// runtime/data/sample_decoder.h — one raw sample to model inputs: JPEG decode, augmentation
// (horizontal flip, mosaic), resize, normalisation to CHW floats, title tokenisation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/rng.h"
#include "runtime/core/status.h"
#include "runtime/data/image.h"
#include "runtime/data/webdataset.h"
#include "runtime/data/wordpiece.h"

namespace tigerfg::data {

struct TransformOptions {
  int query_size = 32;  // query images are query_size x query_size
  int item_size = 32;
  int channels = 3;
  int max_len = 8;                            // title ids per sample
  std::vector<float> mean{0.5f, 0.5f, 0.5f};  // per channel, on pixel / 255
  std::vector<float> std{0.5f, 0.5f, 0.5f};
  float hflip_prob = 0.0f;
  float mosaic_prob = 0.0f;
  int mosaic_grid = 2;
  // > 0: SampleOutput::target_map gets the JSON's target_box as a target_grid x target_grid patch
  // map (model.srd_target MASK; runtime/data/target_map.h); a sample without a box is an error.
  int target_grid = 0;
};

// Where one sample's outputs go: rows of the batch buffers (null = not wanted).
struct SampleOutput {
  float* query = nullptr;        // [C, query_size, query_size]
  float* item = nullptr;         // [C, item_size, item_size]
  int64_t* title_ids = nullptr;  // [max_len]
  int64_t* product_id = nullptr;
  float* target_map = nullptr;  // [target_grid * target_grid]
  // uint8 batches instead of query / item: the resized pixels [C, size, size], unnormalised.
  uint8_t* query_pixels = nullptr;
  uint8_t* item_pixels = nullptr;
};

class SampleDecoder {
 public:
  // `dataset` (for mosaic partners) and `tokenizer` must outlive the decoder.
  SampleDecoder(const WebDataset* dataset, const WordPieceTokenizer* tokenizer,
                TransformOptions options)
      : dataset_(dataset), tokenizer_(tokenizer), options_(std::move(options)) {}

  const TransformOptions& options() const { return options_; }

  // Decodes `raw` into `out`. `augment` == null: no augmentation (evaluation). Every random
  // draw comes from `augment`, in a fixed order, so a sample's augmentation is a function of
  // the Rng alone. Errors name the shard and key.
  Status Decode(const RawSample& raw, Rng* augment, const SampleOutput& out) const;

 private:
  // Item image after mosaic: the target in a random cell, other products' item images around.
  // *target_cell gets the cell the target went to.
  Image MosaicItem(const Image& item, int64_t product_id, Rng* augment, int* target_cell) const;
  // The product box of `raw` as a patch map after the item image's mosaic (cell, -1: none) and
  // flip.
  Status TargetMap(const RawSample& raw, int mosaic_cell, bool flipped, float* out) const;
  // Normalised floats into `out`, or (pixels != null) the resized pixels, rounded to 8 bits: the
  // same values when the image already has the model's size (no resize), else within 0.5 / 255.
  void ToChw(const Image& image, int size, float* out, uint8_t* pixels) const;

  const WebDataset* dataset_;
  const WordPieceTokenizer* tokenizer_;
  TransformOptions options_;
};

}  // namespace tigerfg::data
