// tests/comm/grad_buckets_test.cc — bucket layout, out-of-order readiness, mean all-reduce.
#include "comm/grad_buckets.h"

#include <algorithm>
#include <random>

#include "comm_test_util.h"

namespace tigerfg::comm {
namespace {

ParamTable MakeTable() {
  ParamTable table;
  const int64_t sizes[] = {30, 7, 64, 5, 120, 33, 9, 50};
  for (int i = 0; i < 8; ++i) {
    table.Add("p" + std::to_string(i), Shape{sizes[i]}, /*trainable=*/true, /*decay=*/false);
  }
  table.Add("frozen", Shape{11}, /*trainable=*/false, /*decay=*/false);
  return table;
}

// 64 floats per bucket: several buckets, and parameters larger than one.
constexpr double kBucketMb = 64.0 * 4 / (1024 * 1024);

float Grad(int rank, int step, int64_t k) { return rank * 1.5f + step + 0.25f * (k % 9); }

TEST_P(CommTest, BucketsAreContiguousInReverseTableOrder) {
  ParamTable table = MakeTable();
  Buffer grads = Buffer::Zeros({table.total_numel()});
  GradBucketer bucketer(comm_.get(), table, grads, kBucketMb);
  const auto& buckets = bucketer.buckets();
  ASSERT_GE(buckets.size(), 3u);
  EXPECT_EQ(buckets.front().end, table.trainable_numel());
  EXPECT_EQ(buckets.back().begin, 0);
  int params = 0;
  for (size_t b = 0; b < buckets.size(); ++b) {
    if (b > 0) EXPECT_EQ(buckets[b].end, buckets[b - 1].begin);
    if (b + 1 < buckets.size()) EXPECT_GE(buckets[b].end - buckets[b].begin, 64);
    params += buckets[b].num_params;
  }
  EXPECT_EQ(params, 8);
}

TEST_P(CommTest, OutOfOrderReadinessGivesTheMeanOverRanks) {
  ParamTable table = MakeTable();
  Buffer grads = Buffer::Zeros({table.total_numel()});
  GradBucketer bucketer(comm_.get(), table, grads, kBucketMb);
  std::mt19937 shuffle(/*seed=*/17 + comm_->rank());
  for (int step = 0; step < 2; ++step) {
    for (int64_t k = 0; k < table.total_numel(); ++k) grads.f32()[k] = Grad(comm_->rank(), step, k);
    std::vector<std::string> order;
    for (int i = 0; i < 8; ++i) order.push_back("p" + std::to_string(i));
    // p0 is in the last bucket: marking it first launches nothing.
    bucketer.MarkReady("p0");
    EXPECT_EQ(bucketer.launched(), 0);
    order.erase(order.begin());
    std::shuffle(order.begin(), order.end(), shuffle);  // a different order on every rank
    for (const std::string& name : order) bucketer.MarkReady(name);
    EXPECT_EQ(bucketer.launched(), static_cast<int>(bucketer.buckets().size()));
    const double exposed = bucketer.Finish();
    EXPECT_GE(exposed, 0.0);
    for (int64_t k = 0; k < table.trainable_numel(); ++k) {
      float expected = 0;
      for (int r = 0; r < world_; ++r) expected += Grad(r, step, k);
      expected /= world_;
      ASSERT_NEAR(grads.f32()[k], expected, 1e-5f * std::max(1.0f, expected)) << "element " << k;
    }
    for (int64_t k = table.trainable_numel(); k < table.total_numel(); ++k) {
      ASSERT_EQ(grads.f32()[k], Grad(comm_->rank(), step, k)) << "frozen gradient touched";
    }
  }
}

TEST_P(CommTest, FinishLaunchesBucketsNeverMarked) {
  ParamTable table = MakeTable();
  Buffer grads = Buffer::Zeros({table.total_numel()});
  for (int64_t k = 0; k < table.total_numel(); ++k) grads.f32()[k] = Grad(comm_->rank(), 0, k);
  GradBucketer bucketer(comm_.get(), table, grads, kBucketMb);
  bucketer.MarkReady("p7");
  EXPECT_GE(bucketer.Finish(), 0.0);
  float expected = 0;
  for (int r = 0; r < world_; ++r) expected += Grad(r, 0, 0);
  EXPECT_NEAR(grads.f32()[0], expected / world_, 1e-5f);
}

}  // namespace
}  // namespace tigerfg::comm
