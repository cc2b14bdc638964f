// runtime/train/rank_agreement.h — every rank learns whether every rank is fine, so that one
// rank's bad data, failed file or diverged loss ends all ranks cleanly instead of leaving the
// others waiting in a collective (the trainer, every step; `tigerfg embed`).
#pragma once

#include "comm/communicator.h"
#include "runtime/core/buffer.h"
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::train {

// The flag travels in ctx's device memory (NCCL moves device buffers only), allocated once.
class RankAgreement {
 public:
  // comm and ctx must outlive the object.
  RankAgreement(comm::Communicator& comm, const Context& ctx)
      : comm_(comm),
        ctx_(ctx),
        host_(DType::kF32, Shape{1}),
        flag_(ctx, DType::kF32, Shape{1}),
        host_counts_(DType::kI64, Shape{kMaxCounts}),
        counts_(ctx, DType::kI64, Shape{kMaxCounts}) {}

  // True when `ok` holds on every rank; a collective: every rank must call it.
  bool AllOk(bool ok);
  // counts[n] (in place) = their sums over the ranks, n <= kMaxCounts; a collective named `name`.
  static constexpr int kMaxCounts = 4;
  void Sum(int64_t* counts, int n, const char* name);
  int rank() const { return comm_.rank(); }
  comm::Communicator& comm() { return comm_; }

 private:
  comm::Communicator& comm_;
  const Context& ctx_;
  Buffer host_;
  Buffer flag_;
  Buffer host_counts_, counts_;
};

}  // namespace tigerfg::train
