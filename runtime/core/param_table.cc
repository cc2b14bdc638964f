// runtime/core/param_table.cc — the parameter table.
#include "runtime/core/param_table.h"

#include <glog/logging.h>

namespace tigerfg {

namespace {
int64_t RoundUp(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }
}  // namespace

ParamTable::ParamTable(int64_t alignment) : alignment_(alignment) {
  CHECK_GT(alignment, 0) << "parameter alignment must be positive";
}

void ParamTable::Add(const std::string& name, Shape shape, bool trainable, bool decay) {
  CHECK(index_.count(name) == 0) << "parameter " << name << " added twice";
  CHECK(!trainable || trainable_ == total_)
      << "trainable parameter " << name << " added after a frozen one";
  // total_ is already a multiple of the alignment: the new tensor starts there.
  ParamSpec spec{name, shape, trainable, decay, total_};
  index_[name] = params_.size();
  params_.push_back(spec);
  total_ = RoundUp(total_ + shape.numel(), alignment_);
  if (trainable) trainable_ = total_;
}

const ParamSpec* ParamTable::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

const ParamSpec& ParamTable::Get(const std::string& name) const {
  const ParamSpec* spec = Find(name);
  CHECK(spec != nullptr) << "no parameter named " << name;
  return *spec;
}

Tensor ParamTable::View(float* base, const std::string& name, Device device) const {
  const ParamSpec& spec = Get(name);
  return Tensor(base + spec.offset, DType::kF32, spec.shape, device);
}

}  // namespace tigerfg
