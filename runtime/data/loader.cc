// runtime/data/loader.cc — global sample order, rank slices, bad-sample accounting, prefetching
// loader threads, and the in-order evaluation reader.
#include "runtime/data/loader.h"

#include <algorithm>
#include <utility>

#include "configs/limits.h"
#include "runtime/core/rng.h"

namespace tigerfg::data {
namespace {

constexpr uint64_t kAugmentSalt = 0x6175676d74ull;  // "augmt"
// A run of this many bad samples in a row means the data is broken, not noisy.
constexpr int kMaxConsecutiveBad = 64;
// A window's permutation is 4 bytes a sample, built whole when the window is first read.
constexpr int64_t kMaxShuffleWindow = static_cast<int64_t>(config::limits::kMaxShuffleWindow);

Status CheckOptions(const LoaderOptions& o) {
  const TransformOptions& t = o.transform;
  if (o.shards.empty()) return Status::Error("data.train_shards: no shards given");
  if (o.vocab.empty()) return Status::Error("data.vocab: not set (a vocab.txt is required)");
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) {
    return Status::Error("rank " + std::to_string(o.rank) + " of world " + std::to_string(o.world));
  }
  if (o.global_batch < 1 || o.global_batch % o.world != 0) {
    return Status::Error("train.global_batch: " + std::to_string(o.global_batch) +
                         " is not a positive multiple of the world size " +
                         std::to_string(o.world));
  }
  if (o.start_cursor < 0) return Status::Error("data cursor is negative");
  if (o.prefetch < 1) return Status::Error("data.prefetch: must be at least 1");
  if (o.shuffle_window < 1 || o.shuffle_window > kMaxShuffleWindow) {
    return Status::Error("data.shuffle_window: " + std::to_string(o.shuffle_window) +
                         " must be in [1, " + std::to_string(kMaxShuffleWindow) + "]");
  }
  if (o.max_open_shards < 1) {
    return Status::Error("data.max_open_shards: " + std::to_string(o.max_open_shards) +
                         " must be at least 1");
  }
  if (o.threads < 0) return Status::Error("data.loader_threads: must be >= 0");
  if (t.query_size < 1 || t.item_size < 1 || t.max_len < 1 || t.channels < 1) {
    return Status::Error("model: image sizes, channels and text.max_len must be positive");
  }
  if (static_cast<int>(t.mean.size()) != t.channels ||
      static_cast<int>(t.std.size()) != t.channels) {
    return Status::Error("data.mean/data.std: need one entry per channel (" +
                         std::to_string(t.channels) + ")");
  }
  for (float s : t.std) {
    if (!(s > 0)) return Status::Error("data.std: entries must be positive");
  }
  if (o.uint8_images && t.channels > ImageNorm::kMaxChannels) {
    return Status::Error("model channels: " + std::to_string(t.channels) + " exceed " +
                         std::to_string(ImageNorm::kMaxChannels) + " (uint8 images)");
  }
  if (t.mosaic_grid < 1 || t.mosaic_grid > t.item_size) {
    return Status::Error("data.mosaic_grid: " + std::to_string(t.mosaic_grid) +
                         " must be in [1, item image size]");
  }
  return Status::Ok();
}

StatusOr<std::vector<float>> PerChannel(const google::protobuf::RepeatedField<float>& values,
                                        int channels, const char* field) {
  if (values.empty()) return std::vector<float>(channels, 0.5f);
  if (values.size() == 1) return std::vector<float>(channels, values[0]);
  if (values.size() != channels) {
    return Status::Error(std::string(field) + ": " + std::to_string(values.size()) +
                         " entries, the model has " + std::to_string(channels) + " channels");
  }
  return std::vector<float>(values.begin(), values.end());
}

Batch AllocateBatch(const TransformOptions& t, int64_t rows, bool query, bool item,
                    bool uint8_images = false) {
  Batch b;
  const int c = t.channels;
  const DType images = uint8_images ? DType::kU8 : DType::kF32;
  if (uint8_images) b.image_norm = MakeImageNorm(t.mean, t.std);
  if (query) b.query_images = Buffer(images, Shape{rows, c, t.query_size, t.query_size});
  if (item) {
    b.item_images = Buffer(images, Shape{rows, c, t.item_size, t.item_size});
    b.title_ids = Buffer(DType::kI64, Shape{rows, t.max_len});
  }
  b.product_ids = Buffer(DType::kI64, Shape{rows});
  if (item && t.target_grid > 0) {
    b.target_maps = Buffer(DType::kF32, Shape{rows, int64_t{t.target_grid} * t.target_grid});
  }
  return b;
}

SampleOutput RowOutput(const Batch& b, const TransformOptions& t, int64_t row) {
  const int64_t q_row = int64_t{t.channels} * t.query_size * t.query_size;
  const int64_t i_row = int64_t{t.channels} * t.item_size * t.item_size;
  SampleOutput out;
  auto* query = static_cast<uint8_t*>(b.query_images.data());
  auto* item = static_cast<uint8_t*>(b.item_images.data());
  // U8 images take the pixels, F32 ones the normalised floats.
  if (query != nullptr && b.query_images.dtype() == DType::kU8)
    out.query_pixels = query + row * q_row;
  if (query != nullptr && b.query_images.dtype() == DType::kF32)
    out.query = b.query_images.f32() + row * q_row;
  if (item != nullptr) {
    if (b.item_images.dtype() == DType::kU8) out.item_pixels = item + row * i_row;
    if (b.item_images.dtype() == DType::kF32) out.item = b.item_images.f32() + row * i_row;
    out.title_ids = b.title_ids.i64() + row * t.max_len;
  }
  out.product_id = b.product_ids.i64() + row;
  if (b.target_maps.data() != nullptr)
    out.target_map = b.target_maps.f32() + row * b.target_maps.shape()[1];
  return out;
}

StatusOr<std::unique_ptr<WordPieceTokenizer>> LoadVocab(const LoaderOptions& o) {
  TIGERFG_ASSIGN_OR_RETURN(WordPieceTokenizer t, WordPieceTokenizer::Load(o.vocab));
  if (o.vocab_limit > 0 && t.vocab_size() > o.vocab_limit) {
    return Status::Error(o.vocab + ": " + std::to_string(t.vocab_size()) +
                         " tokens exceed model.text.vocab_size " + std::to_string(o.vocab_limit));
  }
  return std::make_unique<WordPieceTokenizer>(std::move(t));
}

}  // namespace

StatusOr<LoaderOptions> LoaderOptionsFromConfig(const config::RunConfig& config, int rank,
                                                int world) {
  const config::DataConfig& d = config.data();
  const config::ModelConfig& m = config.model();
  LoaderOptions o;
  o.shards.assign(d.train_shards().begin(), d.train_shards().end());
  o.vocab = d.vocab();
  TransformOptions& t = o.transform;
  t.query_size = m.query().image_size();
  t.item_size = m.item().image_size();
  t.channels = m.item().channels();
  if (m.query().channels() != t.channels) {
    return Status::Error("model.query.channels and model.item.channels differ");
  }
  t.max_len = m.text().max_len();
  TIGERFG_ASSIGN_OR_RETURN(t.mean, PerChannel(d.mean(), t.channels, "data.mean"));
  TIGERFG_ASSIGN_OR_RETURN(t.std, PerChannel(d.std(), t.channels, "data.std"));
  t.hflip_prob = d.hflip_prob();
  t.mosaic_prob = d.mosaic_prob();
  t.mosaic_grid = d.mosaic_grid();
  if (m.srd_target() == config::ModelConfig::MASK && m.item().patch_size() > 0)
    t.target_grid = m.item().image_size() / m.item().patch_size();
  o.vocab_limit = m.text().vocab_size();
  o.seed = static_cast<uint64_t>(config.train().seed());
  o.global_batch = config.train().global_batch();
  o.rank = rank;
  o.world = world;
  o.threads = d.loader_threads();
  o.prefetch = d.prefetch();
  o.max_bad_fraction = d.max_bad_fraction();
  o.bad_check_min_seen = d.bad_check_min_seen();
  o.shuffle_window = d.shuffle_window();
  o.max_open_shards = d.max_open_shards();
  return o;
}

StatusOr<std::unique_ptr<DataLoader>> DataLoader::Create(const LoaderOptions& options) {
  TIGERFG_RETURN_IF_ERROR(CheckOptions(options));
  std::unique_ptr<DataLoader> loader(new DataLoader());
  loader->options_ = options;
  TIGERFG_ASSIGN_OR_RETURN(
      loader->dataset_,
      WebDataset::Open(options.shards, kTrainParts,
                       {.require_index = true, .max_open_shards = options.max_open_shards}));
  if (loader->dataset_->size() == 0) return Status::Error("data.train_shards: no samples");
  loader->order_ = std::make_unique<SampleOrder>(loader->dataset_->shard_sizes(), options.seed,
                                                 options.shuffle_window);
  TIGERFG_ASSIGN_OR_RETURN(loader->tokenizer_, LoadVocab(options));
  loader->decoder_ = std::make_unique<SampleDecoder>(loader->dataset_.get(),
                                                     loader->tokenizer_.get(), options.transform);
  loader->local_batch_ = options.global_batch / options.world;
  loader->cursor_ = options.start_cursor;
  for (int i = 0; i < options.threads; ++i) {
    loader->workers_.emplace_back([raw = loader.get()] { raw->WorkerLoop(); });
  }
  return loader;
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

int64_t DataLoader::SampleAt(int64_t position) {
  const SampleOrder::Location at = order_->At(position);
  return dataset_->GlobalIndex(at.shard, at.sample);
}

DataLoader::Built DataLoader::Build(int64_t step) {
  Built built;
  const TransformOptions& t = options_.transform;
  built.batch =
      AllocateBatch(t, local_batch_, /*query=*/true, /*item=*/true, options_.uint8_images);
  const int64_t base =
      options_.start_cursor + step * options_.global_batch + options_.rank * local_batch_;
  built.batch.first_sample = base;
  for (int64_t row = 0; row < local_batch_; ++row) {
    const int64_t slot = base + row;
    const SampleOutput out = RowOutput(built.batch, t, row);
    bool good = false;
    for (int attempt = 0; attempt < kMaxConsecutiveBad && !good; ++attempt) {
      // A replacement gets the augmentation of the slot it fills.
      Rng augment(HashMix(options_.seed, kAugmentSalt), static_cast<uint64_t>(slot));
      const int64_t index = SampleAt(slot + attempt);
      StatusOr<RawSample> raw = dataset_->Read(index);
      Status st = raw.ok() ? decoder_->Decode(*raw, &augment, out) : raw.status();
      if (st.ok()) {
        good = true;
      } else {
        ++built.bad;
        built.last_bad = st.message();
        LOG(WARNING) << "data: skipping bad sample " << dataset_->Where(index) << ": "
                     << st.message();
      }
    }
    if (!good) {
      built.status = Status::Error("data: " + std::to_string(kMaxConsecutiveBad) +
                                   " bad samples in a row from global position " +
                                   std::to_string(slot) + "; last: " + built.last_bad);
      return built;
    }
  }
  return built;
}

void DataLoader::WorkerLoop() {
  while (true) {
    int64_t step;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || next_build_ - next_return_ < options_.prefetch; });
      if (stop_) return;
      step = next_build_++;
    }
    Built built = Build(step);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(step, std::move(built));
    }
    cv_.notify_all();
  }
}

StatusOr<Batch> DataLoader::NextBatch() {
  if (failed_) return Status::Error("data: the loader stopped after an earlier error");
  Built built;
  if (workers_.empty()) {
    built = Build(next_return_);
  } else {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(next_return_) > 0; });
    auto it = ready_.find(next_return_);
    built = std::move(it->second);
    ready_.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++next_return_;
  }
  cv_.notify_all();
  if (!built.status.ok()) {
    failed_ = true;
    return built.status;
  }
  bad_ += built.bad;
  seen_ += local_batch_ + built.bad;
  if (built.bad > 0) last_bad_ = built.last_bad;
  const double budget =
      options_.max_bad_fraction * static_cast<double>(std::max(seen_, options_.bad_check_min_seen));
  if (static_cast<double>(bad_) > budget) {
    failed_ = true;
    return Status::Error("data: " + std::to_string(bad_) + " bad samples out of " +
                         std::to_string(seen_) + " read exceed data.max_bad_fraction " +
                         std::to_string(options_.max_bad_fraction) + "; last: " + last_bad_);
  }
  cursor_ += options_.global_batch;
  return std::move(built.batch);
}

StatusOr<std::unique_ptr<EvalSet>> EvalSet::Open(const std::string& dir, EvalPart part,
                                                 const LoaderOptions& options) {
  auto set = std::unique_ptr<EvalSet>(new EvalSet());
  set->part_ = part;
  const bool queries = part == EvalPart::kQueries;
  const std::string spec = dir + (queries ? "/queries-*.tar" : "/gallery-*.tar");
  TIGERFG_ASSIGN_OR_RETURN(
      set->dataset_,
      WebDataset::Open({spec}, queries ? kQueryImage : kItemImage,
                       {.require_index = true, .max_open_shards = options.max_open_shards}));
  if (!set->dataset_->shard_errors().empty()) {
    return Status::Error(set->dataset_->shard_errors().front());
  }
  if (!queries) {
    TIGERFG_ASSIGN_OR_RETURN(set->tokenizer_, LoadVocab(options));
  }
  TransformOptions transform = options.transform;
  transform.target_grid = 0;  // evaluation reads no SRD targets
  set->decoder_ = std::make_unique<SampleDecoder>(set->dataset_.get(), set->tokenizer_.get(),
                                                  std::move(transform));
  return set;
}

StatusOr<Batch> EvalSet::Read(int64_t begin, int64_t end) const {
  if (begin < 0 || end > size() || begin >= end) {
    return Status::Error("eval rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                         ") outside a set of " + std::to_string(size()));
  }
  const bool queries = part_ == EvalPart::kQueries;
  Batch batch = AllocateBatch(decoder_->options(), end - begin, queries, !queries);
  batch.first_sample = begin;
  std::vector<Status> status(end - begin);
#pragma omp parallel for schedule(dynamic)
  for (int64_t row = 0; row < end - begin; ++row) {
    StatusOr<RawSample> raw = dataset_->Read(begin + row);
    status[row] = raw.ok() ? decoder_->Decode(*raw, /*augment=*/nullptr,
                                              RowOutput(batch, decoder_->options(), row))
                           : raw.status();
  }
  for (const Status& st : status) TIGERFG_RETURN_IF_ERROR(st);
  return batch;
}

}  // namespace tigerfg::data
