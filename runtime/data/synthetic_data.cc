// runtime/data/synthetic_data.cc — deterministic synthetic pairs.
#include "runtime/data/synthetic_data.h"

#include <algorithm>

#include "runtime/core/rng.h"

namespace tigerfg::train {

namespace {

constexpr int kPatternGrid = 4;  // a product's pattern: kPatternGrid² random cells per channel
constexpr float kNoise = 0.5f;

// img[C, S, S] = the product's cell pattern (nearest upsampling) + per-sample noise.
void FillImage(float* img, int channels, int size, uint64_t seed, int64_t product, int64_t sample,
               uint64_t stream) {
  Rng pattern(seed ^ 0x5eed, static_cast<uint64_t>(product) * 4 + 1);
  float cells[16][kPatternGrid * kPatternGrid];
  for (int c = 0; c < channels && c < 16; ++c)
    for (float& cell : cells[c]) cell = static_cast<float>(pattern.Normal());
  Rng noise(seed, static_cast<uint64_t>(sample) * 4 + stream);
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const int cell = (y * kPatternGrid / size) * kPatternGrid + x * kPatternGrid / size;
        img[(static_cast<int64_t>(c) * size + y) * size + x] =
            cells[c % 16][cell] + kNoise * static_cast<float>(noise.Normal());
      }
}

}  // namespace

SyntheticSource::SyntheticSource(const config::ModelConfig& model, const config::DataConfig& data,
                                 uint64_t seed)
    : model_(model), products_(data.synthetic_products()), seed_(seed) {}

Batch SyntheticSource::MakeBatch(int64_t size) const {
  Batch b;
  const auto& q = model_.query();
  const auto& it = model_.item();
  b.query_images = Buffer(DType::kF32, Shape{size, q.channels(), q.image_size(), q.image_size()});
  b.item_images = Buffer(DType::kF32, Shape{size, it.channels(), it.image_size(), it.image_size()});
  b.title_ids = Buffer(DType::kI64, Shape{size, model_.text().max_len()});
  b.product_ids = Buffer(DType::kI64, Shape{size});
  return b;
}

int64_t SyntheticSource::ProductOf(int64_t sample) const {
  if (products_ <= 0) return sample;
  return static_cast<int64_t>(HashMix(seed_ ^ 0x9d, static_cast<uint64_t>(sample)) %
                              static_cast<uint64_t>(products_));
}

void SyntheticSource::Fill(Batch& batch, int64_t first) const {
  const int64_t n = batch.size();
  const auto& q = model_.query();
  const auto& it = model_.item();
  const int64_t q_numel = static_cast<int64_t>(q.channels()) * q.image_size() * q.image_size();
  const int64_t i_numel = static_cast<int64_t>(it.channels()) * it.image_size() * it.image_size();
  const int max_len = model_.text().max_len();
  const int vocab = model_.text().vocab_size();
  batch.first_sample = first;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r) {
    const int64_t sample = first + r;
    const int64_t product = ProductOf(sample);
    FillImage(batch.query_images.f32() + r * q_numel, q.channels(), q.image_size(), seed_, product,
              sample, 0);
    FillImage(batch.item_images.f32() + r * i_numel, it.channels(), it.image_size(), seed_, product,
              sample, 1);
    // Title: [CLS]=1, product words (fixed per product), a random word or two, padding.
    int64_t* ids = batch.title_ids.i64() + r * max_len;
    std::fill(ids, ids + max_len, 0);
    ids[0] = 1;
    Rng words(seed_ ^ 0x7e47, static_cast<uint64_t>(product));
    Rng extra(seed_, static_cast<uint64_t>(sample) * 4 + 2);
    const int len = std::min<int>(max_len, 2 + static_cast<int>(extra.Int(1, max_len)));
    for (int t = 1; t < len; ++t)
      ids[t] = t <= 2 ? words.Int(2, std::max(3, vocab)) : extra.Int(2, std::max(3, vocab));
    batch.product_ids.i64()[r] = product;
  }
}

}  // namespace tigerfg::train
