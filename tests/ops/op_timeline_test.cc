// tests/ops/op_timeline_test.cc — the per-op time table: ops dispatched while a timeline records
// are counted with the time up to the next op (host work after an op counts for it), ops outside
// Begin/End are not, and two timelines cannot record at once.
#include "ops/op_timeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "ops/tensor_ops.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {
namespace {

std::map<std::string, OpTimeline::Row> ByOp(const OpTimeline& timeline) {
  std::map<std::string, OpTimeline::Row> rows;
  for (const OpTimeline::Row& row : timeline.Table()) rows[row.op] = row;
  return rows;
}

TEST(OpTimeline, CountsTheOpsDispatchedWhileRecordingWithTheTimeToTheNext) {
  const Context ctx = Context::Cpu();
  Buffer a(DType::kF32, Shape{64}), b(DType::kF32, Shape{64});
  OpTimeline timeline(ctx);
  Zero(ctx, a);  // before Begin: not recorded
  for (int span = 0; span < 2; ++span) {
    timeline.Begin();
    Zero(ctx, a);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // counts for Zero
    Copy(ctx, b, a);
    Zero(ctx, b);
    timeline.End();
  }
  Copy(ctx, a, b);  // after End: not recorded
  EXPECT_EQ(timeline.spans(), 2);
  const auto rows = ByOp(timeline);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.at("Zero").calls, 4);
  EXPECT_EQ(rows.at("Copy").calls, 2);
  EXPECT_GE(rows.at("Zero").seconds, 0.010);
  EXPECT_LT(rows.at("Copy").seconds, rows.at("Zero").seconds);
  EXPECT_EQ(timeline.Table().front().op, "Zero") << "the most time first";
}

TEST(OpTimeline, AnEmptySpanAddsNothingAndOneTimelineRecordsAtATime) {
  const Context ctx = Context::Cpu();
  OpTimeline first(ctx), second(ctx);
  first.Begin();
  EXPECT_DEATH(second.Begin(), "another OpTimeline is recording");
  first.End();
  EXPECT_TRUE(first.Table().empty());
  second.Begin();  // free again
  second.End();
  EXPECT_DEATH(second.End(), "without Begin");
}

}  // namespace
}  // namespace tigerfg::ops
