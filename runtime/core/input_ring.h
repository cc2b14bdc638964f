// runtime/core/input_ring.h — the GPU input pipeline's staging ring: a few slots of pinned host
// memory (cudaHostAlloc) with device twins, filled from a batch's host buffers, copied host to
// device on a copy stream of their own; the compute stream waits on an event, never the host.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "runtime/core/context.h"

namespace tigerfg {

class InputRing {
 public:
  struct Span {
    const void* data;  // host memory (pageable or not)
    size_t bytes;
  };
  // Byte offset alignment of each part inside a slot (vector loads of the kernels reading it).
  static constexpr size_t kAlign = 256;

  // `slots` slots of `slot_bytes` each (the parts of one Stage, kAlign-padded) on ctx's CUDA
  // device. A CPU build or a CPU context is a broken invariant.
  InputRing(const Context& ctx, size_t slot_bytes, int slots = 3);
  ~InputRing();
  InputRing(const InputRing&) = delete;
  InputRing& operator=(const InputRing&) = delete;

  // The slot bytes that parts of these sizes take (each part's offset rounded up to kAlign).
  static size_t SlotBytes(const std::vector<size_t>& part_bytes);

  // Copies `parts` into the next slot's pinned memory and starts its host-to-device copy on the
  // copy stream; returns the slot. The host waits only while that slot is still being read (the
  // ring is full: `slots` stages ahead of the compute stream) or copied.
  int Stage(const std::vector<Span>& parts);
  // Makes the context's compute stream wait for the slot's copy (an event, no host wait); returns
  // the device address of part `part` of the slot's last Stage.
  void* Acquire(int slot, int part);
  // The compute stream's work enqueued so far is the last reader of `slot`: it may be refilled
  // once that work has run.
  void Release(int slot);

  int slots() const;
  size_t slot_bytes() const;
  int64_t host_waits() const;  // Stage calls that had to wait on the host (ring full)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tigerfg
