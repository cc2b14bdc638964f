// ops/op_timeline.h — a per-op time table without a profiler (Nsight Systems is not on every GPU
// machine): while a timeline records, every op dispatched through the backend table stamps a mark
// on the context's work (a CUDA event on its stream, a host clock on the CPU), and the time from
// one op's mark to the next is that op's. Work between two ops that is no op (a collective, a
// copy) counts for the op before it; an op that dispatches another shares its time with it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/backend.h"
#include "runtime/core/context.h"

namespace tigerfg::profile {
class MarkClock;
}

namespace tigerfg::ops {

class OpTimeline {
 public:
  struct Row {
    std::string op;
    int64_t calls = 0;
    double seconds = 0;
  };

  // ctx: where the ops run (marks on its stream); must outlive the timeline.
  explicit OpTimeline(const Context& ctx);
  ~OpTimeline();
  OpTimeline(const OpTimeline&) = delete;
  OpTimeline& operator=(const OpTimeline&) = delete;

  // Records the ops dispatched from here (on any thread, one timeline at a time) until End.
  void Begin();
  // A last mark, then waits for it (a host wait) and adds each op's time to the table.
  void End();
  // Every op seen, the most time first; `spans` Begin/End pairs so far.
  std::vector<Row> Table() const;
  int64_t spans() const { return spans_; }

  // Called by the backend lookup (ops/backend.cc) for each op while a timeline records.
  static void OnDispatch(OpKind op);

 private:
  void Mark(int op);

  std::unique_ptr<profile::MarkClock> clock_;
  std::vector<int> ops_;  // the op of each mark of the current span; -1 for the last
  std::vector<int64_t> ns_;
  std::vector<Row> rows_;  // by OpKind
  int64_t spans_ = 0;
  bool recording_ = false;
};

}  // namespace tigerfg::ops
