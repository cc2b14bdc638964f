// ops/cuda/tensor_ops.cu — the glue ops on CUDA: zero, residual add, copy, CLS/position handling,
// token slices and column concatenation. Sums over the batch loop in a fixed order (no atomics).
#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace tigerfg::ops::cuda {
namespace {

std::string ShapeOf(const Tensor& t) { return t.shape().ToString(); }

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
  if (t.numel() == 0) return;
  CHECK(t.defined()) << "zero: undefined tensor of shape " << ShapeOf(t);
  CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.nbytes(), Stream(ctx)));
}

void AddInPlace(const Context& ctx, Tensor y, const Tensor& x) {
  CHECK_EQ(y.numel(), x.numel()) << "add: y " << ShapeOf(y) << " vs x " << ShapeOf(x);
  const int64_t n = y.numel();
  if (n == 0) return;
  AddKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(y.f32(), x.f32(), n);
  CUDA_CHECK_LAUNCH();
}

void Copy(const Context& ctx, Tensor dst, const Tensor& src) {
  CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype())
      << "copy: dst " << ShapeOf(dst) << " " << DTypeName(dst.dtype()) << " vs src " << ShapeOf(src)
      << " " << DTypeName(src.dtype());
  if (dst.numel() == 0 || dst.data() == src.data()) return;
  CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), dst.nbytes(), cudaMemcpyDefault, Stream(ctx)));
}

void TokenPrependForward(const Context& ctx, Tensor out, const Tensor& patches, const Tensor& cls,
                         const Tensor& pos) {
  CHECK_EQ(patches.ndim(), 3) << "token_prepend: patches must be [B, P, D], got "
                              << ShapeOf(patches);
  const int64_t B = patches.dim(0), P = patches.dim(1), D = patches.dim(2);
  CHECK_EQ(cls.numel(), D) << "token_prepend: cls " << ShapeOf(cls) << " for width " << D;
  CHECK(pos.numel() == (1 + P) * D && pos.dim(-1) == D)
      << "token_prepend: pos " << ShapeOf(pos) << ", expected [" << 1 + P << ", " << D << "]";
  CHECK(out.shape() == Shape({B, 1 + P, D})) << "token_prepend: out " << ShapeOf(out);
  if (B * D == 0) return;
  TokenPrependForwardKernel<<<GridFor(B * (1 + P) * D), kThreads, 0, Stream(ctx)>>>(
      out.f32(), patches.f32(), cls.f32(), pos.f32(), B, P, D);
  CUDA_CHECK_LAUNCH();
}

void TokenPrependBackward(const Context& ctx, Tensor dpatches, Tensor dcls, Tensor dpos,
                          const Tensor& dout) {
  CHECK_EQ(dout.ndim(), 3) << "token_prepend: dout must be [B, 1 + P, D], got " << ShapeOf(dout);
  const int64_t B = dout.dim(0), S = dout.dim(1), D = dout.dim(2);
  CHECK_GE(S, 1) << "token_prepend: dout " << ShapeOf(dout) << " has no CLS row";
  CHECK(dpatches.shape() == Shape({B, S - 1, D}))
      << "token_prepend: dpatches " << ShapeOf(dpatches) << " for dout " << ShapeOf(dout);
  CHECK_EQ(dcls.numel(), D) << "token_prepend: dcls " << ShapeOf(dcls) << " for width " << D;
  CHECK(dpos.numel() == S * D && dpos.dim(-1) == D)
      << "token_prepend: dpos " << ShapeOf(dpos) << " for dout " << ShapeOf(dout);
  if (S * D == 0) return;
  TokenPrependBackwardKernel<<<GridFor(S * D), kThreads, 0, Stream(ctx)>>>(
      dpatches.defined() ? dpatches.f32() : nullptr, dcls.f32(), dpos.f32(), dout.f32(), B, S, D);
  CUDA_CHECK_LAUNCH();
}

void AddPositionForward(const Context& ctx, Tensor x, const Tensor& pos) {
  CHECK_EQ(x.ndim(), 3) << "add_position: x must be [B, S, D], got " << ShapeOf(x);
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2);
  CHECK(pos.ndim() == 2 && pos.dim(1) == D && pos.dim(0) >= S)
      << "add_position: pos " << ShapeOf(pos) << " for x " << ShapeOf(x);
  if (B * S * D == 0) return;
  AddPositionForwardKernel<<<GridFor(B * S * D), kThreads, 0, Stream(ctx)>>>(x.f32(), pos.f32(), B,
                                                                             S * D);
  CUDA_CHECK_LAUNCH();
}

void AddPositionBackward(const Context& ctx, Tensor dpos, const Tensor& dx) {
  CHECK_EQ(dx.ndim(), 3) << "add_position: dx must be [B, S, D], got " << ShapeOf(dx);
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2);
  CHECK(dpos.ndim() == 2 && dpos.dim(1) == D && dpos.dim(0) >= S)
      << "add_position: dpos " << ShapeOf(dpos) << " for dx " << ShapeOf(dx);
  if (S * D == 0) return;
  AddPositionBackwardKernel<<<GridFor(S * D), kThreads, 0, Stream(ctx)>>>(dpos.f32(), dx.f32(), B,
                                                                          S * D);
  CUDA_CHECK_LAUNCH();
}

void TokenSliceForward(const Context& ctx, Tensor out, const Tensor& x, int64_t begin) {
  CHECK(x.ndim() == 3 && out.ndim() == 3)
      << "token_slice: x " << ShapeOf(x) << " and out " << ShapeOf(out) << " must be [B, S, D]";
  const int64_t B = x.dim(0), S = x.dim(1), D = x.dim(2), n = out.dim(1);
  CHECK(out.dim(0) == B && out.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: out " << ShapeOf(out) << " at " << begin << " of x " << ShapeOf(x);
  if (B * n * D == 0) return;
  TokenSliceKernel<false>
      <<<GridFor(B * n * D), kThreads, 0, Stream(ctx)>>>(x.f32(), out.f32(), B, S, n, D, begin);
  CUDA_CHECK_LAUNCH();
}

void TokenSliceBackward(const Context& ctx, Tensor dx, const Tensor& dout, int64_t begin) {
  CHECK(dx.ndim() == 3 && dout.ndim() == 3)
      << "token_slice: dx " << ShapeOf(dx) << " and dout " << ShapeOf(dout) << " must be [B, S, D]";
  const int64_t B = dx.dim(0), S = dx.dim(1), D = dx.dim(2), n = dout.dim(1);
  CHECK(dout.dim(0) == B && dout.dim(2) == D && begin >= 0 && begin + n <= S)
      << "token_slice: dout " << ShapeOf(dout) << " at " << begin << " of dx " << ShapeOf(dx);
  if (B * n * D == 0) return;
  TokenSliceKernel<true>
      <<<GridFor(B * n * D), kThreads, 0, Stream(ctx)>>>(dx.f32(), dout.f32(), B, S, n, D, begin);
  CUDA_CHECK_LAUNCH();
}

void ConcatColumnsForward(const Context& ctx, Tensor out, const Tensor& a, const Tensor& b) {
  CHECK(a.ndim() == 2 && b.ndim() == 2 && out.ndim() == 2 && a.dim(0) == b.dim(0) &&
        out.dim(0) == a.dim(0) && out.dim(1) == a.dim(1) + b.dim(1))
      << "concat: out " << ShapeOf(out) << " from a " << ShapeOf(a) << " and b " << ShapeOf(b);
  const int64_t N = a.dim(0), A = a.dim(1), C = b.dim(1);
  if (N * (A + C) == 0) return;
  ConcatKernel<false>
      <<<GridFor(N * (A + C)), kThreads, 0, Stream(ctx)>>>(out.f32(), a.f32(), b.f32(), N, A, C);
  CUDA_CHECK_LAUNCH();
}

void ConcatColumnsBackward(const Context& ctx, Tensor da, Tensor db, const Tensor& dout) {
  CHECK(da.ndim() == 2 && db.ndim() == 2 && dout.ndim() == 2 && da.dim(0) == db.dim(0) &&
        dout.dim(0) == da.dim(0) && dout.dim(1) == da.dim(1) + db.dim(1))
      << "concat: dout " << ShapeOf(dout) << " into da " << ShapeOf(da) << " and db "
      << ShapeOf(db);
  const int64_t N = da.dim(0), A = da.dim(1), C = db.dim(1);
  if (N * (A + C) == 0) return;
  ConcatKernel<true>
      <<<GridFor(N * (A + C)), kThreads, 0, Stream(ctx)>>>(dout.f32(), da.f32(), db.f32(), N, A, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
