// runtime/core/input_ring.cc — the pinned staging ring (CUDA builds); a CPU build stops on use.
#include "runtime/core/input_ring.h"

#include <glog/logging.h>

#include <cstring>

#ifdef TIGERFG_WITH_CUDA
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"
#endif

namespace tigerfg {
namespace {

size_t AlignUp(size_t n) {
  return (n + InputRing::kAlign - 1) / InputRing::kAlign * InputRing::kAlign;
}

}  // namespace

size_t InputRing::SlotBytes(const std::vector<size_t>& part_bytes) {
  size_t total = 0;
  for (size_t b : part_bytes) total = AlignUp(total) + b;
  return AlignUp(total);
}

#ifdef TIGERFG_WITH_CUDA

struct InputRing::Impl {
  Context ctx = Context::Cpu();
  size_t slot_bytes = 0;
  cudaStream_t copy_stream = nullptr;
  struct Slot {
    void* host = nullptr;  // pinned
    void* device = nullptr;
    cudaEvent_t copied = nullptr;    // recorded on the copy stream after the H2D copy
    cudaEvent_t consumed = nullptr;  // recorded on the compute stream by Release
    std::vector<size_t> offsets;     // of the parts of the last Stage
  };
  std::vector<Slot> slots;
  int next = 0;
  int64_t host_waits = 0;
};

InputRing::InputRing(const Context& ctx, size_t slot_bytes, int slots)
    : impl_(std::make_unique<Impl>()) {
  CHECK(ctx.is_cuda() && ctx.cuda() != nullptr) << "InputRing needs a CUDA context";
  CHECK_GT(slots, 0);
  Impl& r = *impl_;
  r.ctx = ctx;
  r.slot_bytes = AlignUp(slot_bytes);
  CUDA_CHECK(cudaSetDevice(ctx.cuda()->device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&r.copy_stream, cudaStreamNonBlocking));
  r.slots.resize(slots);
  for (Impl::Slot& s : r.slots) {
    CUDA_CHECK(cudaHostAlloc(&s.host, r.slot_bytes, cudaHostAllocDefault));
    CUDA_CHECK(cudaMalloc(&s.device, r.slot_bytes));
    CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&s.consumed, cudaEventDisableTiming));
  }
}

InputRing::~InputRing() {
  Impl& r = *impl_;
  cudaStreamSynchronize(r.copy_stream);
  cudaStreamSynchronize(r.ctx.cuda()->stream);  // the last readers of the slots
  for (Impl::Slot& s : r.slots) {
    cudaEventDestroy(s.copied);
    cudaEventDestroy(s.consumed);
    cudaFree(s.device);
    cudaFreeHost(s.host);
  }
  cudaStreamDestroy(r.copy_stream);
}

int InputRing::Stage(const std::vector<Span>& parts) {
  Impl& r = *impl_;
  const int slot = r.next;
  r.next = (r.next + 1) % static_cast<int>(r.slots.size());
  Impl::Slot& s = r.slots[slot];
  // The slot's pinned memory may still feed its previous copy, its device memory a reader.
  if (cudaEventQuery(s.consumed) == cudaErrorNotReady ||
      cudaEventQuery(s.copied) == cudaErrorNotReady) {
    ++r.host_waits;
  }
  CUDA_CHECK(cudaEventSynchronize(s.consumed));
  CUDA_CHECK(cudaEventSynchronize(s.copied));
  s.offsets.clear();
  size_t end = 0;
  for (const Span& p : parts) {
    const size_t offset = AlignUp(end);
    CHECK_LE(offset + p.bytes, r.slot_bytes) << "InputRing: the parts exceed the slot";
    std::memcpy(static_cast<char*>(s.host) + offset, p.data, p.bytes);
    s.offsets.push_back(offset);
    end = offset + p.bytes;
  }
  CUDA_CHECK(cudaMemcpyAsync(s.device, s.host, end, cudaMemcpyHostToDevice, r.copy_stream));
  CUDA_CHECK(cudaEventRecord(s.copied, r.copy_stream));
  return slot;
}

void* InputRing::Acquire(int slot, int part) {
  Impl::Slot& s = impl_->slots.at(slot);
  CHECK(part >= 0 && part < static_cast<int>(s.offsets.size())) << "InputRing: part " << part;
  CUDA_CHECK(cudaStreamWaitEvent(impl_->ctx.cuda()->stream, s.copied, 0));
  return static_cast<char*>(s.device) + s.offsets[part];
}

void InputRing::Release(int slot) {
  CUDA_CHECK(cudaEventRecord(impl_->slots.at(slot).consumed, impl_->ctx.cuda()->stream));
}

int InputRing::slots() const { return static_cast<int>(impl_->slots.size()); }
size_t InputRing::slot_bytes() const { return impl_->slot_bytes; }
int64_t InputRing::host_waits() const { return impl_->host_waits; }

#else  // CPU build

struct InputRing::Impl {};

InputRing::InputRing(const Context& /*ctx*/, size_t /*slot_bytes*/, int /*slots*/) {
  LOG(FATAL) << "InputRing: this build has no CUDA";
}
InputRing::~InputRing() = default;
int InputRing::Stage(const std::vector<Span>& /*parts*/) { return 0; }
void* InputRing::Acquire(int /*slot*/, int /*part*/) { return nullptr; }
void InputRing::Release(int /*slot*/) {}
int InputRing::slots() const { return 0; }
size_t InputRing::slot_bytes() const { return 0; }
int64_t InputRing::host_waits() const { return 0; }

#endif

}  // namespace tigerfg
