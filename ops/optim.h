// ops/optim.h — optimizer kernels over ranges of the flat parameter/gradient/state buffers.
#pragma once
#include <vector>

#include "runtime/core/context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

struct AdamWHyper {
  float lr = 0;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0;  // decoupled: p -= lr·wd·p before the Adam update (torch.optim.AdamW)
  int64_t step = 1;        // 1-based, for bias correction
  float grad_scale = 1;    // multiplies the gradient first (global-norm clipping)
  // AdamWMultiUpdate with a grad_sumsq: clip to this global norm (0: none), replacing grad_scale.
  float clip_grad_norm = 0;
  // AdamWMultiUpdate: F32 [1] on ctx's device, or null. The update is a no-op (params, m, v and
  // params16 unchanged) when *skip != 0: a step that failed on some rank (the packed step status,
  // runtime/train/step_runner.h) is gated on the device, without a host read.
  const float* skip = nullptr;
};

// AdamWMultiUpdate's table: one row per tensor, I64 [count, kAdamWTableCols] =
// (offset, numel, decay 0/1, chunk_begin), chunk_begin = Σ ceil(numel / kAdamWChunk) of the rows
// before (the (tensor, chunk) work items of one launch). Built once on the host (MakeAdamWTable).
constexpr int64_t kAdamWTableCols = 4;
constexpr int64_t kAdamWChunk = 16384;

#if defined(__CUDACC__)
#define TIGERFG_ADAMW_HD __host__ __device__
#else
#define TIGERFG_ADAMW_HD
#endif
// The row of a [count, kAdamWTableCols] table whose chunks hold work item `chunk`: the last row
// with chunk_begin <= chunk. One search for the CPU loop and the CUDA kernel.
TIGERFG_ADAMW_HD inline int64_t AdamWRowOfChunk(const int64_t* table, int64_t count,
                                                int64_t chunk) {
  int64_t lo = 0, hi = count - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (table[mid * kAdamWTableCols + 3] <= chunk)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}
#undef TIGERFG_ADAMW_HD
struct AdamWTensor {
  int64_t offset = 0, numel = 0;
  bool decay = false;
};
Buffer MakeAdamWTable(const std::vector<AdamWTensor>& tensors);

// One AdamW update of params, m, v [n] from grads [n] (all F32, same length).
void AdamWUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, const Tensor& grads,
                 const AdamWHyper& hyper);

// One AdamW update of every tensor of `table` (above; on ctx's device) within the flat params, m,
// v, grads [n] (F32): weight_decay only where the row says decay; elements no row covers (the
// alignment gaps, a frozen suffix) are never read or written. params16 [n] BF16, or empty: also
// receives bf16(updated params) on the rows' elements. grad_sumsq: empty (grad_scale is used) or
// SumOfSquaresInto's [1] result on ctx's device: the clip factor clip/(√Σ+1e-6) when √Σ > clip
// (torch.nn.utils.clip_grad_norm_) is derived on the device — no host round trip; a Σ that is not
// finite (NaN or inf gradients) makes the update a no-op, as does hyper.skip. Elementwise
// results equal AdamWUpdate's with that grad_scale.
void AdamWMultiUpdate(const Context& ctx, Tensor params, Tensor m, Tensor v, Tensor params16,
                      const Tensor& grads, const Tensor& table, const Tensor& grad_sumsq,
                      const AdamWHyper& hyper);

// Σ x² in double (for the global gradient norm).
double SumOfSquares(const Context& ctx, const Tensor& x);
// The same sum left on ctx's device: out [1] I64 holds the double's bits (the dtype set has no
// F64); read it with SumOfSquaresValue. Same value as SumOfSquares.
void SumOfSquaresInto(const Context& ctx, Tensor out, const Tensor& x);
// The double in SumOfSquaresInto's `out` (a host read: for logging, off the update's path).
double SumOfSquaresValue(const Context& ctx, const Tensor& out);

}  // namespace tigerfg::ops
