// ops/cuda/common.cuh — what the CUDA op files share: the context's stream, launch sizes, block
// reductions, scratch memory and the row-major GEMM wrapper over cuBLASLt (ops/cuda/gemm.cu).
#pragma once

#include <cuda_runtime.h>
#include <glog/logging.h>

#include <algorithm>
#include <cstdint>

#include "ops/checks.h"
#include "runtime/core/context.h"
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops::cuda {

constexpr int kThreads = 256;  // threads per block for every op kernel; a multiple of 32

inline cudaStream_t Stream(const Context& ctx) {
  CHECK(ctx.is_cuda() && ctx.cuda() != nullptr) << "CUDA op called with a CPU context";
  return ctx.cuda()->stream;
}

// Blocks for a grid-stride loop over n elements (never 0; capped, the loop covers the rest).
inline unsigned GridFor(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 1 << 16));
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `shared` holds 32 doubles; the block must reach this call uniformly.
__device__ inline double BlockSum(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  double total = 0;
  for (int w = 0; w < warps; ++w) total += shared[w];
  return total;
}

// Max of v over the block, like BlockSum.
__device__ inline float BlockMax(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  float m = shared[0];
  for (int w = 1; w < warps; ++w) m = fmaxf(m, shared[w]);
  return m;
}

// Stream-ordered scratch device memory, freed (stream-ordered) when it goes out of scope.
class Scratch {
 public:
  Scratch(const Context& ctx, size_t bytes) : stream_(Stream(ctx)) {
    if (bytes > 0) CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, stream_));
  }
  ~Scratch() {
    if (ptr_ != nullptr) CUDA_CHECK(cudaFreeAsync(ptr_, stream_));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* f32() const { return static_cast<float*>(ptr_); }
  double* f64() const { return static_cast<double*>(ptr_); }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

// Row-major C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C (+ bias[N] on every row),
// fp32 accumulation. A is [M, K] (lda >= K), or [K, M] when trans_a; B is [K, N] (ldb >= N), or
// [N, K] when trans_b. With batch > 1 the matrices of batch i start i · stride_x elements further.
// C is not read when beta == 0; with C_in set, the beta term reads C_in (C's layout and type; it
// may be C itself) and C is only written. bias (F32) is added to every row of the result.
// Types: A and B are both `ab_type` (F32 or BF16), C is `c_type` (F32 or BF16). F32 inputs use
// plain fp32 math (no TF32) unless the context's CudaHandles::allow_tf32 is set.
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  const void* A = nullptr;
  int64_t lda = 0;
  const void* B = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  void* C = nullptr;
  int64_t ldc = 0;
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  const float* bias = nullptr;
  const void* C_in = nullptr;
  DType ab_type = DType::kF32;
  DType c_type = DType::kF32;
};
void Gemm(const Context& ctx, const GemmArgs& args);

// C[M, N] = op(A) · op(B), row-major with the leading dimensions given; the caller adds
// transposes, types, bias and beta.
inline GemmArgs RowMajorGemm(int64_t M, int64_t N, int64_t K, const void* A, int64_t lda,
                             const void* B, int64_t ldb, void* C, int64_t ldc) {
  GemmArgs g;
  g.M = M;
  g.N = N;
  g.K = K;
  g.A = A;
  g.lda = lda;
  g.B = B;
  g.ldb = ldb;
  g.C = C;
  g.ldc = ldc;
  return g;
}

// The cuBLASLt epilogues an op can ask for on top of a GemmArgs (batch 1, beta as given):
enum class GemmEpilogue {
  // C = gelu(A·B + bias) (tanh form, as ops/gelu.h); aux[M, N] = A·B + bias, the pre-activation
  // the backward needs. args.bias is required.
  kGeluAuxBias,
  // C = (A·B) ⊙ gelu'(aux), aux[M, N] the forward's pre-activation; bias_grad[N] = Σ_rows C
  // (written, =). args.bias must be null.
  kDGeluBgrad,
  // The weight-gradient GEMM (trans_a, A = dout stored [K, M]): C as asked, and
  // bias_grad[M] = Σ_k A[k, m] (written, =). args.bias must be null.
  kBgradA,
};
struct EpilogueArgs {
  GemmEpilogue kind = GemmEpilogue::kGeluAuxBias;
  void* aux = nullptr;  // row-major [M, N], leading dimension ldaux, type aux_type (C's type)
  int64_t ldaux = 0;
  DType aux_type = DType::kBF16;
  float* bias_grad = nullptr;  // F32: [N] for kDGeluBgrad, [M] for kBgradA
};
// Runs `args` with the epilogue through cuBLASLt. False, with nothing launched, when the
// epilogues are switched off (ops/cuda/paths.h), a pointer or leading dimension is not aligned
// as cuBLASLt needs (16 bytes, aux ld a multiple of 8), or cuBLASLt declines the problem: the
// caller then runs its separate passes. Counted in Counts().
bool TryGemmEpilogue(const Context& ctx, const GemmArgs& args, const EpilogueArgs& epilogue);

// dst[i] += src[i], i < n (F32; a written bias gradient folded into an accumulating one).
void AddF32(const Context& ctx, float* dst, const float* src, int64_t n);

}  // namespace tigerfg::ops::cuda

namespace tigerfg::ops::cuda {

// Partial column sums of f(row, col) over a chunk of rows: block (32, 8) covers 32 columns,
// blockIdx.y is the row chunk. partial[chunk, cols], in double.
template <typename F>
__global__ void ColumnPartialsKernel(F f, int64_t rows, int64_t cols, int64_t rows_per_chunk,
                                     double* partial) {
  __shared__ double sums[8][33];
  const int64_t c = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  double acc = 0;
  if (c < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) acc += f(r, c);
  }
  sums[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    double total = 0;
    for (int y = 0; y < 8; ++y) total += sums[y][threadIdx.x];
    partial[blockIdx.y * cols + c] = total;
  }
}

// dst[c] += Σ_chunk partial[chunk, c]. A template so that every op file gets its own instance.
template <int kUnused = 0>
__global__ void ColumnFinishKernel(const double* partial, int64_t chunks, int64_t cols,
                                   float* dst) {
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < cols;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double total = 0;
    for (int64_t k = 0; k < chunks; ++k) total += partial[k * cols + c];
    dst[c] += static_cast<float>(total);
  }
}

// dst[c] += Σ_r f(r, c) over rows [0, rows), summed in double (deterministic: no atomics).
// F is a functor with `__device__ double operator()(int64_t row, int64_t col) const`.
template <typename F>
void AccumulateColumnSums(const Context& ctx, F f, int64_t rows, int64_t cols, float* dst) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t chunks = std::clamp<int64_t>((rows + 255) / 256, 1, 1024);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  Scratch partial(ctx, static_cast<size_t>(chunks * cols) * sizeof(double));
  const dim3 grid(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>(chunks));
  ColumnPartialsKernel<<<grid, dim3(32, 8), 0, Stream(ctx)>>>(f, rows, cols, rows_per_chunk,
                                                              partial.f64());
  CUDA_CHECK_LAUNCH();
  ColumnFinishKernel<0>
      <<<GridFor(cols), kThreads, 0, Stream(ctx)>>>(partial.f64(), chunks, cols, dst);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
