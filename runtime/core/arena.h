// runtime/core/arena.h — the activation arena: every activation and scratch tensor of a step is
// planned once (offsets into one allocation), so a training step never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/buffer.h"
#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg {

class ActivationArena {
 public:
  explicit ActivationArena(Context ctx) : ctx_(std::move(ctx)) {}
  // Activation recomputation: trainable towers keep one set of block activations and re-run
  // each block's forward just before its backward (about a third more compute, a fraction of
  // the activation memory). Set before the layers are planned.
  void set_recompute_blocks(bool on) { recompute_blocks_ = on; }
  bool recompute_blocks() const { return recompute_blocks_; }
  ~ActivationArena();
  ActivationArena(const ActivationArena&) = delete;
  ActivationArena& operator=(const ActivationArena&) = delete;

  // Reserves room for a tensor of `shape` and binds *slot to it once Allocate() has run. The
  // slot's owner must not move afterwards (layers are held by pointer).
  void Plan(Tensor* slot, Shape shape, DType dtype = DType::kF32);
  // Allocates the one buffer on the context's device and points every planned slot into it;
  // planning ends.
  void Allocate();
  int64_t bytes() const { return bytes_; }

 private:
  struct Request {
    Tensor* slot;
    Shape shape;
    DType dtype;
    int64_t offset;
  };
  Context ctx_;
  std::vector<Request> requests_;
  int64_t bytes_ = 0;
  bool recompute_blocks_ = false;
  void* base_ = nullptr;
  Buffer storage_;
};

}  // namespace tigerfg
