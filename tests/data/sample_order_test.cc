// tests/data/sample_order_test.cc — the two-level training order: every epoch a permutation of
// all samples, a pure function of (seed, shard sizes, window) whatever is asked first, and tables
// that do not grow with the sample count.
#include "runtime/data/sample_order.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace tigerfg::data {
namespace {

using Location = SampleOrder::Location;

std::vector<Location> Stream(SampleOrder& order, int64_t first, int64_t count) {
  std::vector<Location> out;
  for (int64_t q = first; q < first + count; ++q) out.push_back(order.At(q));
  return out;
}

TEST(SampleOrder, EveryEpochVisitsEverySampleOnce) {
  const std::vector<int64_t> sizes = {5, 0, 13, 1, 7, 0, 9};  // 35, empty shards included
  for (int64_t window : {1, 3, 7, 16, 35, 1000}) {
    SampleOrder order(sizes, /*seed=*/4, window);
    ASSERT_EQ(order.size(), 35);
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      std::set<std::pair<int32_t, int64_t>> seen;
      for (const Location& at : Stream(order, epoch * 35, 35)) {
        ASSERT_GE(at.shard, 0);
        ASSERT_LT(at.shard, static_cast<int32_t>(sizes.size()));
        ASSERT_GE(at.sample, 0);
        ASSERT_LT(at.sample, sizes[at.shard]) << "window " << window;
        seen.insert({at.shard, at.sample});
      }
      EXPECT_EQ(seen.size(), 35u) << "window " << window << " epoch " << epoch;
    }
  }
}

TEST(SampleOrder, EpochsAndSeedsDifferAndWindowsStayLocal) {
  SampleOrder order({10, 10, 10, 10}, /*seed=*/1, /*window=*/8);
  EXPECT_NE(Stream(order, 0, 40), Stream(order, 40, 40));
  SampleOrder other({10, 10, 10, 10}, /*seed=*/2, /*window=*/8);
  EXPECT_NE(Stream(order, 0, 40), Stream(other, 0, 40));
  // A window of 8 spans at most two shards of 10: positions [0, 8) read from <= 2 shards.
  std::set<int32_t> shards;
  for (const Location& at : Stream(order, 0, 8)) shards.insert(at.shard);
  EXPECT_LE(shards.size(), 2u);
}

// What a resumed loader, or a rank that only reads its slices, asks first must not matter.
TEST(SampleOrder, ArbitraryCursorEqualsTheUninterruptedStream) {
  const std::vector<int64_t> sizes = {17, 4, 29, 11, 8};  // 69
  SampleOrder straight(sizes, 9, 10);
  const std::vector<Location> all = Stream(straight, 0, 69 * 4);
  for (int64_t cursor : {1, 9, 10, 68, 69, 70, 137, 200}) {
    SampleOrder resumed(sizes, 9, 10);  // cold caches
    EXPECT_EQ(Stream(resumed, cursor, 69 * 4 - cursor),
              std::vector<Location>(all.begin() + cursor, all.end()))
        << "cursor " << cursor;
  }
  // Backwards and far jumps too (a window recomputed after leaving the cache).
  SampleOrder jumping(sizes, 9, 10);
  for (int64_t q : {250, 3, 140, 0, 75, 260, 3}) EXPECT_EQ(jumping.At(q), all[q]) << q;
}

// Ranks W = 1, 2, 4 take [r G/W, (r+1) G/W) of each global batch: concatenated, the W = 1 stream.
TEST(SampleOrder, RankSlicesConcatenateToTheSingleRankStream) {
  const std::vector<int64_t> sizes = {12, 30, 7, 19, 3, 25};  // 96
  const int64_t global = 8, steps = 30;                       // 240 positions: 2.5 epochs
  SampleOrder one(sizes, 5, 16);
  const std::vector<Location> expected = Stream(one, 0, global * steps);
  for (int world : {1, 2, 4}) {
    std::vector<std::unique_ptr<SampleOrder>> ranks;
    for (int r = 0; r < world; ++r) ranks.push_back(std::make_unique<SampleOrder>(sizes, 5, 16));
    std::vector<Location> joined;
    for (int64_t step = 0; step < steps; ++step) {
      for (int r = 0; r < world; ++r) {
        const int64_t local = global / world;
        for (const Location& at : Stream(*ranks[r], step * global + r * local, local))
          joined.push_back(at);
      }
    }
    EXPECT_EQ(joined, expected) << "world " << world;
  }
}

// The tables are O(shards + window): the same footprint at 100 and at 10^7 samples per shard.
TEST(SampleOrder, FootprintDoesNotGrowWithSamples) {
  const int64_t window = 256;
  auto footprint = [&](int64_t per_shard) {
    SampleOrder order(std::vector<int64_t>(50, per_shard), 3, window);
    for (int64_t q = 0; q < 2048; q += 7) order.At(q);                // 8 full windows
    for (int64_t e = 1; e < 4; ++e) order.At(e * order.size() + 11);  // later epochs
    return order.footprint_bytes();
  };
  const size_t small = footprint(100), large = footprint(10'000'000);
  EXPECT_EQ(small, large);
  // 50 shards (sizes; order and prefix sums of two epochs) and at most 8 cached windows.
  EXPECT_LE(large, 50 * 8 + 2 * (50 * 4 + 51 * 8) + 8 * window * 4);
}

}  // namespace
}  // namespace tigerfg::data
