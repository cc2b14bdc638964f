// configs/limits.h — upper limits of the size fields of a RunConfig (README "Config limits"): far
// above any model this runtime trains, far below what overflows a size or exhausts a machine's
// memory or time one field at a time. ValidateConfig enforces them.
#pragma once

namespace tigerfg::config::limits {

inline constexpr double kMaxImageSize = 8192;  // model.{query,item,teacher}.image_size
inline constexpr double kMaxChannels = 64;
inline constexpr double kMaxWidth = 65536;  // widths and model.embed_dim
inline constexpr double kMaxDepth = 1024;   // depths and model.ground_layers
inline constexpr double kMaxMlpRatio = 64;
inline constexpr double kMaxVocab = 4194304;  // 2^22; the largest tokenizers hold ~256k entries
inline constexpr double kMaxTextLen = 8192;
inline constexpr double kMaxGlobalBatch = 1048576;  // 2^20
inline constexpr double kMaxThreads = 4096;  // data.loader_threads, data.prefetch, train.threads
inline constexpr double kMaxMosaicGrid = 64;
inline constexpr double kMaxTimeoutS = 86400;  // a day: a longer wait is a hang, not a collective
inline constexpr double kMaxBucketMb = 4096;
inline constexpr double kMaxShuffleWindow = 16777216;  // 2^24 samples: a 64 MiB permutation
inline constexpr double kMaxOpenShards = 65536;        // data.max_open_shards

}  // namespace tigerfg::config::limits
