// runtime/core/step_timer.h — the time split of a training step, measured where the work runs:
// on a GPU by CUDA events on the compute stream, read once after the step (so a phase is the time
// the stream spent between two marks, host waits included); on the CPU by host clocks.
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

  // Starts a step in phase `first`. The step before it may still be closed but not resolved
  // (CloseStep): the two steps' marks go to two clocks, so that a trainer prepares step k+1 while
  // the device still runs step k.
  void BeginStep(int64_t step, Phase first = Phase::kDataWait);
  // Ends the current phase and enters `phase`. A phase may be entered several times per step;
  // its times add up.
  void Enter(Phase phase);
  // A named interval on a trace track (a collective, from its launch to the end of its wait).
  // Spans may overlap phases and each other. Returns a handle for EndSpan (-1 when dropped).
  int BeginSpan(std::string name, int track = kCollectiveTrack);
  void EndSpan(int handle);  // a span never ended ends with the step
  // Ends the step without waiting for it: stamps its last mark behind the work issued so far.
  // Resolve reads its times; it must come before the next CloseStep.
  void CloseStep();
  // Waits for the closed step's last mark (the one device synchronisation per step) and returns
  // its times, valid until the next Resolve.
  const StepProfile& Resolve();
  // CloseStep, then Resolve.
  const StepProfile& EndStep();
  bool in_step() const { return current_ >= 0; }
  bool closed() const { return closed_ >= 0; }  // a closed step waits for Resolve

 private:
  struct Interval {
    int begin_mark = 0, end_mark = -1;
    int phase = -1;  // -1 for spans
    std::string name;
    int track = kPhaseTrack;
  };
  // One step's marks on its clock, from BeginStep to Resolve.
  struct Recording {
    std::unique_ptr<MarkClock> clock;
    int64_t step = 0;
    int marks = 0, spans = 0;
    int64_t dropped_spans = 0;
    std::vector<Interval> intervals;
  };
  Recording& current() { return recordings_[current_]; }
  int NewMark();
  void ClosePhase(int mark);

  int max_spans_;
  std::array<Recording, 2> recordings_;
  int current_ = -1, closed_ = -1;  // indexes into recordings_, -1 for none
  int phase_ = -1, phase_begin_ = 0;
  std::vector<int64_t> ns_;
  int64_t next_start_unix_ns_ = 0;  // where the last resolved step ended on the wall clock
  StepProfile profile_;
};

// The median of `values` (the upper one of an even count); 0 for none.
double Median(std::vector<double> values);

}  // namespace tigerfg::profile
