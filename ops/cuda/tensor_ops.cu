// ops/cuda/tensor_ops.cu — the glue ops on CUDA: zero, residual add, copy, CLS/position handling,
// token slices and column concatenation. Sums over the batch loop in a fixed order (no atomics).
#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

#define TIGERFG_GRID_LOOP(idx, n)                                                            \
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < (n); \
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void AddKernel(float* y, const float* x, int64_t n) {
  TIGERFG_GRID_LOOP(i, n) y[i] += x[i];
}

// out[b, s, :] = (s == 0 ? cls : patches[b, s - 1]) + pos[s]
__global__ void TokenPrependForwardKernel(float* out, const float* patches, const float* cls,
                                          const float* pos, int64_t B, int64_t P, int64_t D) {
  const int64_t S = P + 1;
  TIGERFG_GRID_LOOP(idx, B * S * D) {
    const int64_t d = idx % D, s = (idx / D) % S, b = idx / (S * D);
    const float src = s == 0 ? cls[d] : patches[(b * P + s - 1) * D + d];
    out[idx] = src + pos[s * D + d];
  }
}

// One thread per (s, d): dpatches rows copied, dpos (and dcls at s = 0) += Σ_b dout[b, s, d].
__global__ void TokenPrependBackwardKernel(float* dpatches, float* dcls, float* dpos,
                                           const float* dout, int64_t B, int64_t S, int64_t D) {
  TIGERFG_GRID_LOOP(idx, S * D) {
    const int64_t s = idx / D, d = idx % D;
    float acc = 0;
    for (int64_t b = 0; b < B; ++b) {
      const float g = dout[(b * S + s) * D + d];
      acc += g;
      if (s > 0) dpatches[(b * (S - 1) + s - 1) * D + d] = g;
    }
    dpos[idx] += acc;
    if (s == 0) dcls[d] += acc;
  }
}

__global__ void AddPositionForwardKernel(float* x, const float* pos, int64_t B, int64_t SD) {
  TIGERFG_GRID_LOOP(idx, B * SD) x[idx] += pos[idx % SD];
}

__global__ void AddPositionBackwardKernel(float* dpos, const float* dx, int64_t B, int64_t SD) {
  TIGERFG_GRID_LOOP(idx, SD) {
    float acc = 0;
    for (int64_t b = 0; b < B; ++b) acc += dx[b * SD + idx];
    dpos[idx] += acc;
  }
}

// out[b, i, :] = x[b, begin + i, :] (accumulate: x[b, begin + i, :] += out[b, i, :]).
template <bool kBackward>
__global__ void TokenSliceKernel(float* x, float* out, int64_t B, int64_t S, int64_t n, int64_t D,
                                 int64_t begin) {
  TIGERFG_GRID_LOOP(idx, B * n * D) {
    const int64_t d = idx % D, i = (idx / D) % n, b = idx / (n * D);
    float* xe = x + (b * S + begin + i) * D + d;
    if (kBackward) {
      *xe += out[idx];
    } else {
      out[idx] = *xe;
    }
  }
}

// out[N, A + C] <-> (a[N, A], b[N, C]).
template <bool kBackward>
__global__ void ConcatKernel(float* out, float* a, float* b, int64_t N, int64_t A, int64_t C) {
  const int64_t W = A + C;
  TIGERFG_GRID_LOOP(idx, N * W) {
    const int64_t n = idx / W, c = idx % W;
    float* part = c < A ? a + n * A + c : b + n * C + (c - A);
    if (kBackward) {
      *part = out[idx];
    } else {
      out[idx] = *part;
    }
  }
}

#undef TIGERFG_GRID_LOOP

}  // namespace

void Zero(const Context& ctx, Tensor t) {
  CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.nbytes(), Stream(ctx)));
}

void AddInPlace(const Context& ctx, Tensor y, const Tensor& x) {
  const int64_t n = y.numel();
  if (n == 0) return;
  AddKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(y.f32(), x.f32(), n);
  CUDA_CHECK_LAUNCH();
}

void Copy(const Context& ctx, Tensor dst, const Tensor& src) {
  if (dst.numel() == 0 || dst.data() == src.data()) return;
  CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), dst.nbytes(), cudaMemcpyDefault, Stream(ctx)));
}

void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos) {
  const int64_t B = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  if (B * D == 0) return;
  TokenPrependForwardKernel<<<GridFor(B * (1 + P) * D), kThreads, 0, Stream(ctx)>>>(
      out.f32(), patches.f32(), cls.f32(), pos.f32(), B, P, D);
  CUDA_CHECK_LAUNCH();
}

void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout) {
  const int64_t B = dout.dim(0), S = dout.dim(1), D = dout.dim(2);
  if (S * D == 0) return;
  TokenPrependBackwardKernel<<<GridFor(S * D), kThreads, 0, Stream(ctx)>>>(
      dpatches.defined() ? dpatches.f32() : nullptr, dcls.f32(), dpos.f32(), dout.f32(), B, S, D);
  CUDA_CHECK_LAUNCH();
}

void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos) {
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2);
  if (B * S * D == 0) return;
  AddPositionForwardKernel<<<GridFor(B * S * D), kThreads, 0, Stream(ctx)>>>(x.f32(), pos.f32(), B,
                                                                             S * D);
  CUDA_CHECK_LAUNCH();
}

void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx) {
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2);
  if (S * D == 0) return;
  AddPositionBackwardKernel<<<GridFor(S * D), kThreads, 0, Stream(ctx)>>>(dpos.f32(), dx.f32(), B,
                                                                          S * D);
  CUDA_CHECK_LAUNCH();
}

void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin) {
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2), n = out.dim(1);
  if (B * n * D == 0) return;
  TokenSliceKernel<false>
      <<<GridFor(B * n * D), kThreads, 0, Stream(ctx)>>>(x.f32(), out.f32(), B, S, n, D, begin);
  CUDA_CHECK_LAUNCH();
}

void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin) {
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2), n = dout.dim(1);
  if (B * n * D == 0) return;
  TokenSliceKernel<true>
      <<<GridFor(B * n * D), kThreads, 0, Stream(ctx)>>>(dx.f32(), dout.f32(), B, S, n, D, begin);
  CUDA_CHECK_LAUNCH();
}

void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b) {
  const int64_t N = a.dim(0), A = a.dim(1), C = b.dim(1);
  if (N * (A + C) == 0) return;
  ConcatKernel<false>
      <<<GridFor(N * (A + C)), kThreads, 0, Stream(ctx)>>>(out.f32(), a.f32(), b.f32(), N, A, C);
  CUDA_CHECK_LAUNCH();
}

void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout) {
  const int64_t N = da.dim(0), A = da.dim(1), C = db.dim(1);
  if (N * (A + C) == 0) return;
  ConcatKernel<true>
      <<<GridFor(N * (A + C)), kThreads, 0, Stream(ctx)>>>(dout.f32(), da.f32(), db.f32(), N, A, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
