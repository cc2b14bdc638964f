// ops/cuda/cudnn_sdpa.h — cuDNN's fused SDPA (ops/cuda/cudnn_sdpa.cc) for the CUDNN attention
// kernel: bf16 qkv[B, S, 3D] in the spec's (B, S, 3, heads, d) layout, no mask, the outputs of
// FlashAttentionForward / Backward (out[B, S, D], lse[B, heads, S] natural-log, dqkv written).
// Every failure (no libcudnn, an old version, a shape no engine takes) is a Status; nothing is
// launched then.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops::cuda {

// The unified SDPA operations need cuDNN 9.13.1 (cudnnGetVersion() 91301).
constexpr size_t kCudnnSdpaMinVersion = 91301;

// Whether libcudnn.so.9 loaded with every entry point and is new enough (no device needed).
Status CudnnSdpaLibrary();

// Whether cuDNN builds a forward plan (and tries the backward one: a decline there runs the
// fused kernel's backward) for sequences of `seq` tokens, `width` channels
// in `heads` heads, on ctx's device (batch 1; plans are cached per shape).
Status CudnnSdpaCheck(const Context& ctx, int64_t seq, int64_t width, int heads);

// Whether cuDNN builds the backward plan for `batch` sequences of that shape. cuDNN 9.19's one
// unified SDPA engine takes SDPA_FWD graphs only, so there the backward is declined.
Status CudnnSdpaBackwardCheck(const Context& ctx, int64_t batch, int64_t seq, int64_t width,
                              int heads);

// Builds and finalizes the tensor, operation and operation-graph descriptors (no device, no
// handle: cuDNN checks the attributes, the forward's shapes and the graph), then drops them.
// cuDNN 9.19 finalizes the SDPA_BWD operation but not a graph of it ("buildDAG").
Status CudnnSdpaDescribe(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                         bool backward);

// The plan's workspace, stream-ordered on ctx's stream (cudaFreeAsync it there). A failed
// allocation is a Status and leaves no CUDA error behind for the next launch check.
StatusOr<void*> CudnnSdpaWorkspace(const Context& ctx, int64_t bytes);

Status CudnnSdpaForward(const Context& ctx, Tensor out, Tensor lse, const Tensor& qkv, int heads);

Status CudnnSdpaBackward(const Context& ctx, Tensor dqkv, const Tensor& dout, const Tensor& qkv,
                         const Tensor& out, const Tensor& lse, int heads);

}  // namespace tigerfg::ops::cuda
