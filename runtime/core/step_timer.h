// runtime/core/step_timer.h — the time split of a training step, measured where the work runs:
// on a GPU by CUDA events on the compute stream, read once at the end of the step (so a phase is
// the time the stream spent between two marks, host waits included); on the CPU by host clocks.
// Phases and the step also become NVTX ranges.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/context.h"

namespace tigerfg::profile {

class MarkClock;

enum class Phase : int { kDataWait = 0, kForward, kLoss, kBackward, kExposedComm, kOptimizer };
inline constexpr int kNumPhases = 6;
// "data_wait", "forward", "loss", "backward", "exposed_comm", "optimizer": the stems of the
// metrics.jsonl and bench fields.
const char* PhaseName(Phase phase);

inline constexpr int kPhaseTrack = 0;       // trace track of the step and its phases
inline constexpr int kCollectiveTrack = 1;  // trace track of collectives

// A named interval of one step; times in ns since the step's start.
struct Span {
  std::string name;
  int track = kPhaseTrack;
  int64_t begin_ns = 0, end_ns = 0;
};

struct StepProfile {
  int64_t step = 0;
  int64_t start_unix_ns = 0;  // wall clock of the step's start (trace timestamps)
  double step_s = 0;
  std::array<double, kNumPhases> phase_s{};  // sums to step_s
  std::vector<Span> spans;                   // every phase entry and every span, by start
  int64_t dropped_spans = 0;                 // past max_spans_per_step
};

class StepTimer {
 public:
  // `max_spans_per_step` bounds the spans (not the phases) kept per step.
  explicit StepTimer(const Context& ctx, int max_spans_per_step = 1024);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  // Starts a step in phase `first`.
  void BeginStep(int64_t step, Phase first = Phase::kDataWait);
  // Ends the current phase and enters `phase`. A phase may be entered several times per step;
  // its times add up.
  void Enter(Phase phase);
  // A named interval on a trace track (a collective, from its launch to the end of its wait).
  // Spans may overlap phases and each other. Returns a handle for EndSpan (-1 when dropped).
  int BeginSpan(std::string name, int track = kCollectiveTrack);
  void EndSpan(int handle);  // a span never ended ends with the step
  // Ends the step: waits for its last mark (the one device synchronisation per step) and returns
  // its times, valid until the next BeginStep.
  const StepProfile& EndStep();
  bool in_step() const { return in_step_; }

 private:
  struct Interval {
    int begin_mark = 0, end_mark = -1;
    int phase = -1;  // -1 for spans
    std::string name;
    int track = kPhaseTrack;
  };
  int NewMark();
  void ClosePhase(int mark);

  std::unique_ptr<MarkClock> clock_;
  int max_spans_;
  bool in_step_ = false;
  int marks_ = 0;
  int phase_ = -1, phase_begin_ = 0;
  int spans_this_step_ = 0;
  std::vector<Interval> intervals_;
  std::vector<int64_t> ns_;
  StepProfile profile_;
};

// The median of `values` (the upper one of an even count); 0 for none.
double Median(std::vector<double> values);

}  // namespace tigerfg::profile
