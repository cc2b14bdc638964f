// runtime/core/arena.cc — offsets are 64-byte aligned so every tensor suits vector loads and GEMMs.
#include "runtime/core/arena.h"

#include <glog/logging.h>

namespace tigerfg {

namespace {
constexpr int64_t kAlign = 64;
}

ActivationArena::~ActivationArena() = default;

void ActivationArena::Plan(Tensor* slot, Shape shape, DType dtype) {
  CHECK(base_ == nullptr) << "activation arena planned after allocation";
  const int64_t nbytes = shape.numel() * static_cast<int64_t>(DTypeSize(dtype));
  requests_.push_back({slot, shape, dtype, bytes_});
  bytes_ += (nbytes + kAlign - 1) / kAlign * kAlign;
}

void ActivationArena::Allocate() {
  CHECK(base_ == nullptr) << "activation arena allocated twice";
  // Model code only ever passes the views to ops, so they may live on the device.
  storage_ = Buffer(ctx_, DType::kU8, Shape{std::max<int64_t>(bytes_, 1)});
  base_ = storage_.data();
  auto* bytes = static_cast<unsigned char*>(base_);
  for (const Request& r : requests_) {
    *r.slot = Tensor(bytes + r.offset, r.dtype, r.shape, ctx_.device());
  }
  requests_.clear();
}

}  // namespace tigerfg
