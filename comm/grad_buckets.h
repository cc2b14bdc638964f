// comm/grad_buckets.h — bucketed gradient all-reduce (mean) over the flat gradient buffer, each
// bucket launched as soon as backward has finished all of its parameters, to overlap compute.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "comm/communicator.h"
#include "runtime/core/param_table.h"

namespace tigerfg::comm {

class GradBucketer {
 public:
  struct Bucket {
    int64_t begin = 0;  // element range [begin, end) of the flat gradient buffer
    int64_t end = 0;
    int num_params = 0;
  };

  // `grads`: the flat gradient buffer laid out by `table` (F32 or BF16, at least
  // trainable_numel() elements, on the communicator's device). Buckets hold the trainable
  // parameters in reverse table order (the order backward finishes them), each closed once it
  // reaches bucket_mb megabytes (a parameter larger than that gets a bucket of its own). The
  // buckets' ranges partition [0, trainable_numel()), the table's alignment gaps included.
  GradBucketer(Communicator* comm, const ParamTable& table, Tensor grads, double bucket_mb);

  // `name`'s gradient is final for this step. Buckets launch in bucket order (the same on every
  // rank, as collectives must be) as soon as they and every earlier bucket are complete, so a
  // rank that finishes parameters in another order still issues the same sequence.
  void MarkReady(const std::string& name);
  // Launches the buckets not yet launched, waits for all of them and starts a new step. Returns
  // the seconds spent here (the communication backward did not hide). On NCCL the wait orders the
  // compute stream instead of blocking the host.
  double Finish();

  const std::vector<Bucket>& buckets() const { return buckets_; }
  int launched() const { return next_launch_; }  // buckets launched so far this step

 private:
  void LaunchReady();

  Communicator* comm_;
  Tensor grads_;
  std::vector<Bucket> buckets_;
  std::unordered_map<std::string, int> bucket_of_;  // param name -> bucket index
  std::unordered_map<std::string, bool> marked_;    // this step
  std::vector<int> ready_count_;
  std::vector<std::shared_ptr<Work>> works_;
  int next_launch_ = 0;
};

}  // namespace tigerfg::comm
