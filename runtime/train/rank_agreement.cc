// runtime/train/rank_agreement.cc — the all-ranks status check.
#include "runtime/train/rank_agreement.h"

#include <algorithm>

namespace tigerfg::train {

bool RankAgreement::AllOk(bool ok) {
  host_.f32()[0] = ok ? 0.0f : 1.0f;
  CopyFromHost(ctx_, flag_.tensor(), host_);
  comm_.AllReduce(flag_.tensor(), comm::ReduceOp::kSum, "status")->Wait();
  CopyToHost(ctx_, host_, flag_.tensor());
  return host_.f32()[0] == 0.0f;
}

void RankAgreement::Sum(int64_t* counts, int n, const char* name) {
  CHECK(n > 0 && n <= kMaxCounts);
  int64_t* host = static_cast<int64_t*>(host_counts_.data());
  std::copy(counts, counts + n, host);
  std::fill(host + n, host + kMaxCounts, 0);
  CopyFromHost(ctx_, counts_.tensor(), host_counts_);
  comm_.AllReduce(counts_.tensor(), comm::ReduceOp::kSum, name)->Wait();
  CopyToHost(ctx_, host_counts_, counts_.tensor());
  std::copy(host, host + n, counts);
}

}  // namespace tigerfg::train
