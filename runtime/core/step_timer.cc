// runtime/core/step_timer.cc — StepTimer over a mark clock, and the host clock.
#include "runtime/core/step_timer.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>

#include "runtime/core/mark_clock.h"
#include "runtime/core/nvtx.h"

namespace tigerfg::profile {

namespace {

// One pairing of the steady clock with the wall clock for the process: every host clock maps its
// marks through it, so marks of different clocks keep their order.
struct HostOrigin {
  std::chrono::steady_clock::time_point steady = std::chrono::steady_clock::now();
  int64_t unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
};

class HostClock : public MarkClock {
 public:
  HostClock() {
    static const HostOrigin origin;
    steady_origin_ = origin.steady;
    unix_origin_ns_ = origin.unix_ns;
  }

  void Record(int index) override {
    if (static_cast<int>(stamps_.size()) <= index) stamps_.resize(index + 1);
    stamps_[index] = std::chrono::steady_clock::now();
  }

  int64_t Resolve(int count, int64_t* ns) override {
    CHECK(count >= 1 && count <= static_cast<int>(stamps_.size()));
    for (int i = 0; i < count; ++i)
      ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(stamps_[i] - stamps_[0]).count();
    // Steady-clock offsets from one wall-clock origin: trace times never jump with NTP.
    return unix_origin_ns_ +
           std::chrono::duration_cast<std::chrono::nanoseconds>(stamps_[0] - steady_origin_)
               .count();
  }

 private:
  std::chrono::steady_clock::time_point steady_origin_;
  int64_t unix_origin_ns_;
  std::vector<std::chrono::steady_clock::time_point> stamps_;
};

}  // namespace

std::unique_ptr<MarkClock> MakeHostClock() { return std::make_unique<HostClock>(); }

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kDataWait:
      return "data_wait";
    case Phase::kForward:
      return "forward";
    case Phase::kLoss:
      return "loss";
    case Phase::kBackward:
      return "backward";
    case Phase::kExposedComm:
      return "exposed_comm";
    case Phase::kOptimizer:
      return "optimizer";
  }
  LOG(FATAL) << "unknown phase " << static_cast<int>(phase);
}

StepTimer::StepTimer(const Context& ctx, int max_spans_per_step) : max_spans_(max_spans_per_step) {
  for (Recording& r : recordings_) {
#ifdef TIGERFG_WITH_CUDA
    if (ctx.is_cuda()) r.clock = MakeCudaEventClock(ctx);
#endif
    CHECK(!ctx.is_cuda() || r.clock != nullptr) << "a CUDA context in a build without CUDA";
    if (!r.clock) r.clock = MakeHostClock();
  }
}

// A step still open (a run that ended between steps) closes its NVTX ranges.
StepTimer::~StepTimer() {
  if (!in_step()) return;
  NvtxPop();  // the phase
  NvtxPop();  // the step
}

int StepTimer::NewMark() {
  Recording& r = current();
  r.clock->Record(r.marks);
  return r.marks++;
}

void StepTimer::BeginStep(int64_t step, Phase first) {
  CHECK(!in_step()) << "BeginStep(" << step << ") inside step " << current().step;
  current_ = closed_ == 0 ? 1 : 0;  // the clock the closed step does not use
  Recording& r = current();
  r.step = step;
  r.marks = 0;
  r.spans = 0;
  r.dropped_spans = 0;
  r.intervals.clear();
  NvtxPush(("step " + std::to_string(step)).c_str());
  phase_begin_ = NewMark();
  phase_ = static_cast<int>(first);
  NvtxPush(PhaseName(first));
}

void StepTimer::ClosePhase(int mark) {
  current().intervals.push_back(
      {phase_begin_, mark, phase_, PhaseName(static_cast<Phase>(phase_)), kPhaseTrack});
  NvtxPop();
}

void StepTimer::Enter(Phase phase) {
  CHECK(in_step()) << "Enter(" << PhaseName(phase) << ") outside a step";
  if (static_cast<int>(phase) == phase_) return;
  const int mark = NewMark();
  ClosePhase(mark);
  phase_ = static_cast<int>(phase);
  phase_begin_ = mark;
  NvtxPush(PhaseName(phase));
}

int StepTimer::BeginSpan(std::string name, int track) {
  CHECK(in_step()) << "BeginSpan(" << name << ") outside a step";
  Recording& r = current();
  if (r.spans >= max_spans_) {
    r.dropped_spans++;
    return -1;
  }
  r.spans++;
  const int mark = NewMark();
  r.intervals.push_back({mark, -1, -1, std::move(name), track});
  return static_cast<int>(r.intervals.size()) - 1;
}

void StepTimer::EndSpan(int handle) {
  if (handle < 0) return;
  CHECK(in_step() && handle < static_cast<int>(current().intervals.size()) &&
        current().intervals[handle].phase < 0 && current().intervals[handle].end_mark < 0)
      << "EndSpan(" << handle << "): not an open span of this step";
  const int mark = NewMark();
  current().intervals[handle].end_mark = mark;
}

void StepTimer::CloseStep() {
  CHECK(in_step()) << "CloseStep outside a step";
  CHECK(!closed()) << "CloseStep of step " << current().step << " before step "
                   << recordings_[closed_].step << " was resolved";
  ClosePhase(NewMark());
  NvtxPop();  // the step
  closed_ = current_;
  current_ = -1;
  phase_ = -1;
}

const StepProfile& StepTimer::Resolve() {
  CHECK(closed()) << "Resolve without a closed step";
  Recording& r = recordings_[closed_];
  closed_ = -1;
  const int last = r.marks - 1;
  ns_.resize(r.marks);
  profile_.step = r.step;
  profile_.dropped_spans = r.dropped_spans;
  // The two clocks' wall-clock anchors may disagree by microseconds, and a step begins where the
  // one before it closed: steps stay in order, end to end.
  profile_.start_unix_ns = std::max(r.clock->Resolve(r.marks, ns_.data()), next_start_unix_ns_);
  profile_.step_s = static_cast<double>(ns_[last]) * 1e-9;
  next_start_unix_ns_ = profile_.start_unix_ns + ns_[last];
  profile_.phase_s.fill(0);
  profile_.spans.clear();
  for (const Interval& in : r.intervals) {
    const int64_t begin = ns_[in.begin_mark], end = ns_[in.end_mark < 0 ? last : in.end_mark];
    if (in.phase >= 0) profile_.phase_s[in.phase] += static_cast<double>(end - begin) * 1e-9;
    profile_.spans.push_back({in.name, in.track, begin, end});
  }
  std::stable_sort(profile_.spans.begin(), profile_.spans.end(),
                   [](const Span& a, const Span& b) { return a.begin_ns < b.begin_ns; });
  return profile_;
}

const StepProfile& StepTimer::EndStep() {
  CloseStep();
  return Resolve();
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace tigerfg::profile
