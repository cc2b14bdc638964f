// runtime/core/step_timer.cc — StepTimer over a mark clock, and the host clock.
#include "runtime/core/step_timer.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>

#include "runtime/core/mark_clock.h"
#include "runtime/core/nvtx.h"

namespace tigerfg::profile {

namespace {

class HostClock : public MarkClock {
 public:
  HostClock()
      : steady_origin_(std::chrono::steady_clock::now()),
        unix_origin_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()) {}

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
#ifdef TIGERFG_WITH_CUDA
  if (ctx.is_cuda()) clock_ = MakeCudaEventClock(ctx);
#endif
  CHECK(!ctx.is_cuda() || clock_ != nullptr) << "a CUDA context in a build without CUDA";
  if (!clock_) clock_ = MakeHostClock();
}

StepTimer::~StepTimer() = default;

int StepTimer::NewMark() {
  clock_->Record(marks_);
  return marks_++;
}

void StepTimer::BeginStep(int64_t step, Phase first) {
  CHECK(!in_step_) << "BeginStep(" << step << ") inside step " << profile_.step;
  in_step_ = true;
  marks_ = 0;
  spans_this_step_ = 0;
  intervals_.clear();
  profile_.step = step;
  profile_.dropped_spans = 0;
  NvtxPush(("step " + std::to_string(step)).c_str());
  phase_begin_ = NewMark();
  phase_ = static_cast<int>(first);
  NvtxPush(PhaseName(first));
}

void StepTimer::ClosePhase(int mark) {
  intervals_.push_back(
      {phase_begin_, mark, phase_, PhaseName(static_cast<Phase>(phase_)), kPhaseTrack});
  NvtxPop();
}

void StepTimer::Enter(Phase phase) {
  CHECK(in_step_) << "Enter(" << PhaseName(phase) << ") outside a step";
  if (static_cast<int>(phase) == phase_) return;
  const int mark = NewMark();
  ClosePhase(mark);
  phase_ = static_cast<int>(phase);
  phase_begin_ = mark;
  NvtxPush(PhaseName(phase));
}

int StepTimer::BeginSpan(std::string name, int track) {
  CHECK(in_step_) << "BeginSpan(" << name << ") outside a step";
  if (spans_this_step_ >= max_spans_) {
    profile_.dropped_spans++;
    return -1;
  }
  spans_this_step_++;
  intervals_.push_back({NewMark(), -1, -1, std::move(name), track});
  return static_cast<int>(intervals_.size()) - 1;
}

void StepTimer::EndSpan(int handle) {
  if (handle < 0) return;
  CHECK(in_step_ && handle < static_cast<int>(intervals_.size()) && intervals_[handle].phase < 0 &&
        intervals_[handle].end_mark < 0)
      << "EndSpan(" << handle << "): not an open span of this step";
  intervals_[handle].end_mark = NewMark();
}

const StepProfile& StepTimer::EndStep() {
  CHECK(in_step_) << "EndStep outside a step";
  const int last = NewMark();
  ClosePhase(last);
  NvtxPop();  // the step
  in_step_ = false;
  phase_ = -1;
  ns_.resize(marks_);
  profile_.start_unix_ns = clock_->Resolve(marks_, ns_.data());
  profile_.step_s = static_cast<double>(ns_[last]) * 1e-9;
  profile_.phase_s.fill(0);
  profile_.spans.clear();
  for (const Interval& in : intervals_) {
    const int64_t begin = ns_[in.begin_mark], end = ns_[in.end_mark < 0 ? last : in.end_mark];
    if (in.phase >= 0) profile_.phase_s[in.phase] += static_cast<double>(end - begin) * 1e-9;
    profile_.spans.push_back({in.name, in.track, begin, end});
  }
  std::stable_sort(profile_.spans.begin(), profile_.spans.end(),
                   [](const Span& a, const Span& b) { return a.begin_ns < b.begin_ns; });
  return profile_;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace tigerfg::profile
