// runtime/core/buffer.h — the copies between host memory and a context's device, the only way
// code above the ops moves data across (Buffer itself, the owning type, is in tensor.h).
#pragma once

#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg {

// host = src (src on ctx's device, same byte size). On CUDA the copy is ordered on ctx's stream
// and waits for it, so every op issued before it is finished.
void CopyToHost(const Context& ctx, Tensor host, const Tensor& src);
// dst (on ctx's device) = host; on CUDA ordered on ctx's stream and finished on return.
void CopyFromHost(const Context& ctx, Tensor dst, const Tensor& host);
// host = src, ordered on ctx's stream without waiting for it: `host` (Buffer::Pinned memory on
// CUDA) holds the copy once the stream has passed this point, e.g. after a step timer's Resolve of
// a later mark. A plain copy on the CPU.
void CopyToHostAsync(const Context& ctx, Tensor host, const Tensor& src);
// dst = host, ordered on ctx's stream without waiting: `host` (Buffer::Pinned on CUDA) must stay
// unchanged until the stream has passed this point. A plain copy on the CPU.
void CopyFromHostAsync(const Context& ctx, Tensor dst, const Tensor& host);
// A host copy of a tensor on ctx's device.
Buffer ToHost(const Context& ctx, const Tensor& src);
// A buffer on ctx's device holding a copy of the host tensor.
Buffer ToDevice(const Context& ctx, const Tensor& host);

// The blocking host waits for a CUDA stream so far in this process: the copies above and the step
// timer's end-of-step wait (runtime/core/step_timer.h). Always 0 on the CPU. Tests count a step's
// waits with it (issue #10: a step without host waits).
int64_t HostWaits();
void CountHostWait();

}  // namespace tigerfg
