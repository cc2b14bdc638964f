// runtime/train/rank_agreement.cc — the all-ranks status check.
#include "runtime/train/rank_agreement.h"

namespace tigerfg::train {

bool RankAgreement::AllOk(bool ok) {
  host_.f32()[0] = ok ? 0.0f : 1.0f;
  CopyFromHost(ctx_, flag_.tensor(), host_);
  comm_.AllReduce(flag_.tensor(), comm::ReduceOp::kSum, "status")->Wait();
  CopyToHost(ctx_, host_, flag_.tensor());
  return host_.f32()[0] == 0.0f;
}

}  // namespace tigerfg::train
