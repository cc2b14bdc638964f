// ops/cuda/gemm.cu — the row-major fp32 GEMM every CUDA op uses: cuBLASLt with fp32 (pedantic,
// no TF32) compute and the bias epilogue, and a plain kernel for shapes cuBLASLt declines.
#include <cublasLt.h>

#include <cstdint>

#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

// One C element per thread, grid-stride over batch · M · N. The fallback when cuBLASLt offers no
// algorithm (and K = 0, where cuBLASLt would not scale C).
__global__ void NaiveGemmKernel(GemmArgs g) {
  const int64_t total = g.batch * g.M * g.N;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t z = idx / (g.M * g.N), rem = idx % (g.M * g.N);
    const int64_t i = rem / g.N, j = rem % g.N;
    const float* a = g.A + z * g.stride_a;
    const float* b = g.B + z * g.stride_b;
    float acc = 0.0f;
    for (int64_t k = 0; k < g.K; ++k) {
      const float av = g.trans_a ? a[k * g.lda + i] : a[i * g.lda + k];
      const float bv = g.trans_b ? b[j * g.ldb + k] : b[k * g.ldb + j];
      acc = fmaf(av, bv, acc);
    }
    float* c = g.C + z * g.stride_c + i * g.ldc + j;
    float value = g.alpha * acc;
    if (g.beta != 0.0f) value += g.beta * *c;
    if (g.bias != nullptr) value += g.bias[j];
    *c = value;
  }
}

// Largest power of two <= 256 that divides the address of every batch's matrix.
uint32_t AlignmentBytes(const void* p, int64_t batch, int64_t stride_elems) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256u;
  if (batch > 1) bits |= static_cast<uint64_t>(stride_elems) * sizeof(float);
  return static_cast<uint32_t>(bits & (~bits + 1));
}

// Owns the cuBLASLt descriptors of one call.
struct LtCall {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtCall() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

cublasLtMatrixLayout_t Layout(int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                              int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, rows, cols, ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                  &count, sizeof(count)));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return layout;
}

// Runs g through cuBLASLt with `compute`; false when no algorithm fits (nothing was launched).
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLASLt's A is our B.
bool TryLt(const Context& ctx, const GemmArgs& g, cublasComputeType_t compute, bool use_bias) {
  CudaHandles* h = ctx.cuda();
  LtCall call;
  // A compute type this cuBLASLt does not offer is a decline, not an error: the caller falls back.
  if (cublasLtMatmulDescCreate(&call.op, compute, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) {
    call.op = nullptr;
    return false;
  }
  const cublasOperation_t op_a = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  if (use_bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                sizeof(epilogue)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias,
                                                sizeof(g.bias)));
  }
  call.a = g.trans_b ? Layout(g.K, g.N, g.ldb, g.batch, g.stride_b)
                     : Layout(g.N, g.K, g.ldb, g.batch, g.stride_b);
  call.b = g.trans_a ? Layout(g.M, g.K, g.lda, g.batch, g.stride_a)
                     : Layout(g.K, g.M, g.lda, g.batch, g.stride_a);
  call.c = Layout(g.N, g.M, g.ldc, g.batch, g.stride_c);

  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&call.pref));
  const uint64_t workspace = h->workspace_bytes;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      call.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
  // cuBLASLt assumes 256-byte aligned matrices unless told otherwise; attention and the losses
  // pass matrices at column offsets.
  const uint32_t align_a = AlignmentBytes(g.B, g.batch, g.stride_b);
  const uint32_t align_b = AlignmentBytes(g.A, g.batch, g.stride_a);
  const uint32_t align_c = AlignmentBytes(g.C, g.batch, g.stride_c);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof(align_a)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof(align_b)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, sizeof(align_c)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c, sizeof(align_c)));

  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      h->lt, call.op, call.a, call.b, call.c, call.c, call.pref, 1, &result, &found);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0) return false;
  CUBLAS_CHECK(cublasLtMatmul(h->lt, call.op, &g.alpha, g.B, call.a, g.A, call.b, &g.beta, g.C,
                              call.c, g.C, call.c, &result.algo, h->workspace, h->workspace_bytes,
                              h->stream));
  return true;
}

// C[M, N] rows = bias[N] (so that a beta = 1 GEMM adds onto it).
__global__ void FillRowsKernel(float* c, int64_t ldc, const float* bias, int64_t M, int64_t N) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < M * N;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    c[(idx / N) * ldc + idx % N] = bias[idx % N];
  }
}

void LaunchNaive(const Context& ctx, const GemmArgs& g) {
  NaiveGemmKernel<<<GridFor(g.batch * g.M * g.N), kThreads, 0, Stream(ctx)>>>(g);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void Gemm(const Context& ctx, const GemmArgs& g) {
  CHECK(g.M >= 0 && g.N >= 0 && g.K >= 0 && g.batch >= 1) << "gemm: bad sizes";
  CHECK(g.bias == nullptr || g.beta == 0.0f) << "gemm: bias needs beta == 0";
  if (g.M == 0 || g.N == 0) return;
  CHECK(g.ldc >= g.N && g.lda >= (g.trans_a ? g.M : g.K) && g.ldb >= (g.trans_b ? g.K : g.N))
      << "gemm: leading dimensions " << g.lda << ", " << g.ldb << ", " << g.ldc << " for M " << g.M
      << " N " << g.N << " K " << g.K;
  if (g.K == 0 || g.batch > INT32_MAX) {
    LaunchNaive(ctx, g);
    return;
  }
  // The fused bias is only offered a 16-byte aligned vector; otherwise C is seeded with it below.
  const bool bias = g.bias != nullptr;
  const bool fuse_bias = bias && reinterpret_cast<uintptr_t>(g.bias) % 16 == 0;
  if (!bias || fuse_bias) {
    for (cublasComputeType_t compute : {CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_COMPUTE_32F}) {
      if (TryLt(ctx, g, compute, bias)) return;
    }
  }
  if (bias) {
    // No fused-bias algorithm: seed C with the bias and accumulate onto it.
    CHECK_EQ(g.batch, 1) << "gemm: bias with batches";
    FillRowsKernel<<<GridFor(g.M * g.N), kThreads, 0, Stream(ctx)>>>(g.C, g.ldc, g.bias, g.M, g.N);
    CUDA_CHECK_LAUNCH();
    GemmArgs seeded = g;
    seeded.bias = nullptr;
    seeded.beta = 1.0f;
    for (cublasComputeType_t compute : {CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_COMPUTE_32F}) {
      if (TryLt(ctx, seeded, compute, false)) return;
    }
    LaunchNaive(ctx, seeded);
    return;
  }
  LOG_FIRST_N(WARNING, 5) << "gemm: cuBLASLt has no algorithm for M " << g.M << " N " << g.N
                          << " K " << g.K << " batch " << g.batch << "; using the plain kernel";
  LaunchNaive(ctx, g);
}

}  // namespace tigerfg::ops::cuda
