// comm/grad_buckets.cc — GradBucketer: bucket layout, readiness counting, launch and wait.
#include "comm/grad_buckets.h"

#include <chrono>

namespace tigerfg::comm {

GradBucketer::GradBucketer(Communicator* comm, const ParamTable& table, Tensor grads,
                           double bucket_mb)
    : comm_(comm), grads_(grads) {
  CHECK(comm != nullptr);
  CHECK(grads.dtype() == DType::kF32 || grads.dtype() == DType::kBF16)
      << "gradient buffer is " << DTypeName(grads.dtype());
  CHECK_GE(grads.numel(), table.trainable_numel())
      << "gradient buffer smaller than the trainable parameters";
  CHECK_GT(bucket_mb, 0) << "bucket size must be positive";
  const int64_t bucket_elems = std::max<int64_t>(
      1, static_cast<int64_t>(bucket_mb * 1024 * 1024 / DTypeSize(grads.dtype())));
  const auto& params = table.params();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (!it->trainable || it->numel() == 0) continue;
    // Reverse order: a bucket grows downwards in the buffer, so it stays one contiguous range.
    // The buckets partition [0, trainable_numel()): each one also covers the alignment gaps
    // above its tensors (ParamTable: zero on every rank, so their mean stays zero).
    if (buckets_.empty() || buckets_.back().end - buckets_.back().begin >= bucket_elems) {
      const int64_t end = buckets_.empty() ? table.trainable_numel() : buckets_.back().begin;
      buckets_.push_back({end, end, 0});
    }
    Bucket& bucket = buckets_.back();
    CHECK_LE(it->offset + it->numel(), bucket.begin)
        << "parameter " << it->name << " overlaps the next one";
    bucket.begin = it->offset;
    bucket.num_params++;
    bucket_of_[it->name] = static_cast<int>(buckets_.size()) - 1;
  }
  if (!buckets_.empty()) buckets_.back().begin = 0;  // and the gap below the first tensor, if any
  ready_count_.assign(buckets_.size(), 0);
}

void GradBucketer::MarkReady(const std::string& name) {
  auto it = bucket_of_.find(name);
  CHECK(it != bucket_of_.end()) << "MarkReady: " << name << " is not a trainable parameter";
  bool& marked = marked_[name];
  CHECK(!marked) << "MarkReady: " << name << " marked twice in one step";
  marked = true;
  ready_count_[it->second]++;
  LaunchReady();
}

void GradBucketer::LaunchReady() {
  while (next_launch_ < static_cast<int>(buckets_.size()) &&
         ready_count_[next_launch_] == buckets_[next_launch_].num_params) {
    const Bucket& bucket = buckets_[next_launch_];
    works_.push_back(comm_->AllReduce(FlatRange(grads_, bucket.begin, bucket.end - bucket.begin),
                                      ReduceOp::kMean,
                                      "grad_bucket_" + std::to_string(next_launch_)));
    next_launch_++;
  }
}

double GradBucketer::Finish() {
  const auto start = std::chrono::steady_clock::now();
  // Parameters backward never marked (unused this step) keep whatever their gradient holds.
  for (size_t i = 0; i < buckets_.size(); ++i) ready_count_[i] = buckets_[i].num_params;
  LaunchReady();
  for (auto& work : works_) work->Wait();
  works_.clear();
  marked_.clear();
  ready_count_.assign(buckets_.size(), 0);
  next_launch_ = 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tigerfg::comm
