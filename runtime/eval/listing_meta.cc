// runtime/eval/listing_meta.cc — reading evaluation JSON metadata; product patches and map mass.
#include "runtime/eval/listing_meta.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "runtime/data/tar_reader.h"
#include "runtime/data/webdataset.h"

namespace tigerfg::eval {

namespace {

ListingMeta ParseMeta(const nlohmann::json& j) {
  ListingMeta m;
  auto colour = j.find("colour"), category = j.find("category");
  if (colour != j.end() && category != j.end() && colour->is_string() && category->is_string())
    m.attributes = colour->get<std::string>() + "|" + category->get<std::string>();
  auto box = j.find("target_box"), size = j.find("image_size");
  if (box != j.end() && box->is_array() && box->size() == 4 && size != j.end() &&
      size->is_number_integer()) {
    bool numbers = true;
    for (const auto& v : *box) numbers = numbers && v.is_number_integer();
    if (numbers) {
      for (int k = 0; k < 4; ++k) m.box[k] = (*box)[k].get<int>();
      m.image_size = size->get<int>();
      m.has_box = m.image_size > 0 && m.box[2] > m.box[0] && m.box[3] > m.box[1];
    }
  }
  return m;
}

}  // namespace

StatusOr<std::vector<ListingMeta>> ReadListingMeta(const std::string& dir, data::EvalPart part) {
  const bool queries = part == data::EvalPart::kQueries;
  const std::string spec = dir + (queries ? "/queries-*.tar" : "/gallery-*.tar");
  TIGERFG_ASSIGN_OR_RETURN(auto set, data::WebDataset::Open({spec}, /*parts=*/0));
  std::map<std::string, std::unique_ptr<data::TarReader>> shards;
  std::vector<ListingMeta> out(set->size());
  for (int64_t i = 0; i < set->size(); ++i) {
    TIGERFG_ASSIGN_OR_RETURN(data::RawSample sample, set->Read(i));
    std::unique_ptr<data::TarReader>& tar = shards[sample.shard];
    if (!tar) {
      tar = std::make_unique<data::TarReader>();
      TIGERFG_RETURN_IF_ERROR(tar->Open(sample.shard));
    }
    TIGERFG_ASSIGN_OR_RETURN(const std::string text, tar->Read(sample.key + ".json"));
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return Status::Error(sample.where() + ".json: malformed JSON");
    out[i] = ParseMeta(j);
  }
  return out;
}

std::vector<uint8_t> ProductPatches(const ListingMeta& meta, int image_size, int patch) {
  if (!meta.has_box || patch <= 0 || image_size < patch) return {};
  const int grid = image_size / patch;
  const double scale = double(image_size) / double(meta.image_size);
  const double y0 = meta.box[0] * scale, x0 = meta.box[1] * scale;
  const double y1 = meta.box[2] * scale, x1 = meta.box[3] * scale;
  std::vector<uint8_t> mask(static_cast<size_t>(grid) * grid, 0);
  for (int r = 0; r < grid; ++r) {
    for (int c = 0; c < grid; ++c) {
      const double h = std::min(y1, double((r + 1) * patch)) - std::max(y0, double(r * patch));
      const double w = std::min(x1, double((c + 1) * patch)) - std::max(x0, double(c * patch));
      if (h > 0 && w > 0 && h * w >= 0.25 * patch * patch) mask[r * grid + c] = 1;
    }
  }
  return mask;
}

void AddProductMass(const float* maps, int64_t rows, int64_t n,
                    const std::vector<std::vector<uint8_t>>& masks, ProductMass* total) {
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<uint8_t>& mask = masks[i];
    if (static_cast<int64_t>(mask.size()) != n) continue;
    double on = 0, count = 0;
    for (int64_t k = 0; k < n; ++k) {
      if (!mask[k]) continue;
      on += maps[i * n + k];
      count += 1;
    }
    if (count == 0) continue;
    total->on_product += on;
    total->uniform += count / double(n);
    ++total->listings;
  }
}

void FinishProductMass(ProductMass* total) {
  if (total->listings == 0) return;
  total->on_product /= double(total->listings);
  total->uniform /= double(total->listings);
}

}  // namespace tigerfg::eval
