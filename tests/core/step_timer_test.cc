// tests/core/step_timer_test.cc — the CPU step timer: phases partition the step, repeated
// phases add up, spans lie inside their step, the span cap holds; peak memory grows with use.
#include "runtime/core/step_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "runtime/core/nvtx.h"
#include "runtime/core/peak_memory.h"

namespace tigerfg::profile {
namespace {

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(StepTimer, PhasesPartitionTheStepAndRepeatedPhasesAdd) {
  const Context ctx = Context::Cpu();
  StepTimer timer(ctx);
  timer.BeginStep(7);
  Sleep(2);
  timer.Enter(Phase::kForward);
  Sleep(5);
  timer.Enter(Phase::kExposedComm);
  Sleep(2);
  timer.Enter(Phase::kLoss);
  Sleep(1);
  timer.Enter(Phase::kExposedComm);
  Sleep(3);
  timer.Enter(Phase::kOptimizer);
  const StepProfile& p = timer.EndStep();
  EXPECT_EQ(p.step, 7);
  double sum = 0;
  for (double s : p.phase_s) {
    EXPECT_GE(s, 0);
    sum += s;
  }
  EXPECT_NEAR(sum, p.step_s, 1e-6);
  EXPECT_GE(p.phase_s[static_cast<int>(Phase::kForward)], 0.005);
  EXPECT_GE(p.phase_s[static_cast<int>(Phase::kExposedComm)], 0.005);  // 2 + 3 ms
  EXPECT_EQ(p.phase_s[static_cast<int>(Phase::kBackward)], 0);
  EXPECT_GE(p.step_s, 0.013);
  int comm_entries = 0;
  for (const Span& s : p.spans) {
    EXPECT_EQ(s.track, kPhaseTrack);
    EXPECT_GE(s.begin_ns, 0);
    EXPECT_LE(s.begin_ns, s.end_ns);
    EXPECT_LE(s.end_ns, static_cast<int64_t>(p.step_s * 1e9 + 1));
    comm_entries += s.name == "exposed_comm";
  }
  EXPECT_EQ(comm_entries, 2);
  EXPECT_EQ(p.spans.size(), 6u);  // data_wait, forward, comm, loss, comm, optimizer
  EXPECT_EQ(p.spans.front().name, "data_wait");
  EXPECT_EQ(p.spans.front().begin_ns, 0);
}

TEST(StepTimer, SpansCrossPhasesAndEndWithTheStepWhenLeftOpen) {
  const Context ctx = Context::Cpu();
  StepTimer timer(ctx);
  timer.BeginStep(0, Phase::kBackward);
  const int bucket = timer.BeginSpan("grad_bucket 0");
  Sleep(2);
  timer.Enter(Phase::kExposedComm);
  const int open = timer.BeginSpan("never ended");
  Sleep(1);
  timer.EndSpan(bucket);
  timer.Enter(Phase::kOptimizer);
  (void)open;
  const StepProfile& p = timer.EndStep();
  const int64_t step_ns = static_cast<int64_t>(p.step_s * 1e9 + 0.5);
  int found = 0;
  for (const Span& s : p.spans) {
    if (s.track != kCollectiveTrack) continue;
    ++found;
    if (s.name == "grad_bucket 0") EXPECT_GE(s.end_ns - s.begin_ns, 3'000'000 - 100'000);
    if (s.name == "never ended") EXPECT_EQ(s.end_ns, step_ns);
  }
  EXPECT_EQ(found, 2);
  // A second step starts afresh.
  timer.BeginStep(1);
  const StepProfile& q = timer.EndStep();
  EXPECT_EQ(q.step, 1);
  EXPECT_EQ(q.spans.size(), 1u);
  EXPECT_GT(q.start_unix_ns, 0);
}

TEST(StepTimer, SpanCapDropsSpansButKeepsPhases) {
  const Context ctx = Context::Cpu();
  StepTimer timer(ctx, /*max_spans_per_step=*/3);
  timer.BeginStep(0);
  std::vector<int> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(timer.BeginSpan("s" + std::to_string(i)));
  EXPECT_EQ(handles[3], -1);
  for (int h : handles) timer.EndSpan(h);
  timer.Enter(Phase::kForward);
  const StepProfile& p = timer.EndStep();
  EXPECT_EQ(p.dropped_spans, 2);
  EXPECT_EQ(p.spans.size(), 5u);  // 3 spans + 2 phases
}

// The trainer begins step k+1 (and fetches its batch) before it reads step k: each step's times
// are its own, and the next step's data wait holds what came between.
TEST(StepTimer, TheNextStepMayBeginBeforeTheClosedOneIsResolved) {
  const Context ctx = Context::Cpu();
  StepTimer timer(ctx);
  timer.BeginStep(0, Phase::kForward);
  Sleep(2);
  timer.CloseStep();
  EXPECT_FALSE(timer.in_step());
  EXPECT_TRUE(timer.closed());
  timer.BeginStep(1);
  Sleep(6);
  const StepProfile& first = timer.Resolve();
  EXPECT_EQ(first.step, 0);
  EXPECT_GE(first.step_s, 0.002);
  EXPECT_LT(first.step_s, 0.006) << "step 1's time is not step 0's";
  EXPECT_FALSE(timer.closed());
  timer.Enter(Phase::kForward);
  timer.CloseStep();
  const StepProfile& second = timer.Resolve();
  EXPECT_EQ(second.step, 1);
  EXPECT_GE(second.phase_s[static_cast<int>(Phase::kDataWait)], 0.006);
  EXPECT_EQ(second.spans.front().name, "data_wait");
}

TEST(StepTimer, MisuseIsACheckFailure) {
  const Context ctx = Context::Cpu();
  StepTimer timer(ctx);
  EXPECT_DEATH(timer.Enter(Phase::kForward), "outside a step");
  EXPECT_DEATH(timer.Resolve(), "without a closed step");
  timer.BeginStep(0);
  EXPECT_DEATH(timer.BeginStep(1), "inside step");
  timer.CloseStep();
  timer.BeginStep(1);
  EXPECT_DEATH(timer.CloseStep(), "before step 0 was resolved");
}

TEST(PeakMemory, CpuMaxRssGrowsWithATouchedAllocation) {
  const Context ctx = Context::Cpu();
  PeakMemory mem(ctx);
  EXPECT_STREQ(mem.source(), "cpu_max_rss");
  const int64_t before = mem.peak_bytes();
  EXPECT_GT(before, 0);
  constexpr size_t kBytes = 64u << 20;
  std::vector<char> big(kBytes, 1);  // touched, so resident
  mem.Sample();
  EXPECT_GE(mem.peak_bytes(), before);
  EXPECT_GE(mem.peak_bytes(), static_cast<int64_t>(kBytes));
  EXPECT_NEAR(mem.peak_gib(), mem.peak_bytes() / 1073741824.0, 1e-12);
  EXPECT_EQ(big[kBytes - 1], 1);
}

TEST(Nvtx, RangesAreScopedAndAcceptStrings) {
  const std::string name = "block " + std::to_string(3);
  {
    TIGERFG_NVTX_RANGE("outer");
    TIGERFG_NVTX_RANGE(name);
    TIGERFG_NVTX_RANGE_STR("inner " + name);
  }
  SUCCEED();  // compiles to NVTX calls on CUDA builds, nothing on CPU builds
}

TEST(Median, UpperMiddleOfUnsortedValues) {
  EXPECT_EQ(Median({}), 0);
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 3);
}

}  // namespace
}  // namespace tigerfg::profile
