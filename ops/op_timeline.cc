// ops/op_timeline.cc — marks at op dispatch, resolved into per-op totals.
#include "ops/op_timeline.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>

#include "runtime/core/mark_clock.h"

namespace tigerfg::ops {

namespace {
std::atomic<OpTimeline*> recording{nullptr};
}  // namespace

OpTimeline::OpTimeline(const Context& ctx) : rows_(kOpCount) {
#ifdef TIGERFG_WITH_CUDA
  if (ctx.is_cuda()) clock_ = profile::MakeCudaEventClock(ctx);
#endif
  CHECK(!ctx.is_cuda() || clock_ != nullptr) << "a CUDA context in a build without CUDA";
  if (!clock_) clock_ = profile::MakeHostClock();
  for (int op = 0; op < kOpCount; ++op) rows_[op].op = OpName(static_cast<OpKind>(op));
}

OpTimeline::~OpTimeline() {
  OpTimeline* self = this;
  recording.compare_exchange_strong(self, nullptr);
}

void OpTimeline::Begin() {
  OpTimeline* none = nullptr;
  CHECK(recording.compare_exchange_strong(none, this)) << "another OpTimeline is recording";
  recording_ = true;
  ops_.clear();
}

void OpTimeline::Mark(int op) {
  clock_->Record(static_cast<int>(ops_.size()));
  ops_.push_back(op);
}

void OpTimeline::OnDispatch(OpKind op) {
  OpTimeline* t = recording.load(std::memory_order_relaxed);
  if (t != nullptr) t->Mark(static_cast<int>(op));
}

void OpTimeline::End() {
  CHECK(recording_) << "OpTimeline::End without Begin";
  recording.store(nullptr);
  recording_ = false;
  ++spans_;
  if (ops_.empty()) return;
  Mark(-1);
  const int marks = static_cast<int>(ops_.size());
  ns_.resize(marks);
  clock_->Resolve(marks, ns_.data());
  for (int i = 0; i + 1 < marks; ++i) {
    Row& row = rows_[ops_[i]];
    row.calls++;
    row.seconds += static_cast<double>(ns_[i + 1] - ns_[i]) * 1e-9;
  }
}

std::vector<OpTimeline::Row> OpTimeline::Table() const {
  std::vector<Row> seen;
  for (const Row& row : rows_)
    if (row.calls > 0) seen.push_back(row);
  std::stable_sort(seen.begin(), seen.end(),
                   [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  return seen;
}

}  // namespace tigerfg::ops
