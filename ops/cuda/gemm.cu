// ops/cuda/gemm.cu — the row-major GEMM every CUDA op uses: cuBLASLt with fp32 accumulation over
// fp32 (exact, or TF32 when the context allows) or bf16 inputs, the bias epilogue (and, on
// request, GELU_AUX_BIAS / DGELU_BGRAD / BGRADB), a cache of descriptors and algorithms per
// problem, and a plain kernel for shapes cuBLASLt declines.
#include <cublasLt.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "ops/cuda/common.cuh"
#include "ops/cuda/paths.h"

namespace tigerfg::ops::cuda {
namespace {

__device__ inline float LoadAsFloat(const float* p, int64_t i) { return p[i]; }
__device__ inline float LoadAsFloat(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ inline void StoreFloat(float* p, int64_t i, float v) { p[i] = v; }
__device__ inline void StoreFloat(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

// One C element per thread, grid-stride over batch · M · N. The fallback when cuBLASLt offers no
// algorithm (and K = 0, where cuBLASLt would not scale C).
template <typename TA, typename TC>
__global__ void NaiveGemmKernel(GemmArgs g) {
  const TA* A = static_cast<const TA*>(g.A);
  const TA* B = static_cast<const TA*>(g.B);
  TC* C = static_cast<TC*>(g.C);
  const TC* C_in = static_cast<const TC*>(g.C_in);
  const int64_t total = g.batch * g.M * g.N;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t z = idx / (g.M * g.N), rem = idx % (g.M * g.N);
    const int64_t i = rem / g.N, j = rem % g.N;
    const TA* a = A + z * g.stride_a;
    const TA* b = B + z * g.stride_b;
    float acc = 0.0f;
    for (int64_t k = 0; k < g.K; ++k) {
      const float av = LoadAsFloat(a, g.trans_a ? k * g.lda + i : i * g.lda + k);
      const float bv = LoadAsFloat(b, g.trans_b ? j * g.ldb + k : k * g.ldb + j);
      acc = fmaf(av, bv, acc);
    }
    const int64_t c = z * g.stride_c + i * g.ldc + j;
    float value = g.alpha * acc;
    if (g.beta != 0.0f) value += g.beta * LoadAsFloat(g.C_in != nullptr ? C_in : C, c);
    if (g.bias != nullptr) value += g.bias[j];
    StoreFloat(C, c, value);
  }
}

// C[M, N] rows += bias[N], in place (the bias of a GEMM whose epilogue could not take it).
template <typename TC>
__global__ void AddBiasRowsKernel(TC* c, int64_t ldc, const float* bias, int64_t M, int64_t N) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < M * N;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t at = (idx / N) * ldc + idx % N;
    StoreFloat(c, at, LoadAsFloat(c, at) + bias[idx % N]);
  }
}

cudaDataType_t CudaType(DType t) {
  switch (t) {
    case DType::kF32:
      return CUDA_R_32F;
    case DType::kBF16:
      return CUDA_R_16BF;
    default:
      LOG(FATAL) << "gemm: unsupported dtype " << DTypeName(t);
  }
  return CUDA_R_32F;
}

// Largest power of two <= 256 that divides the address of every batch's matrix.
uint32_t AlignmentBytes(const void* p, int64_t batch, int64_t stride_elems, size_t elem_bytes) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256u;
  if (batch > 1) bits |= static_cast<uint64_t>(stride_elems) * elem_bytes;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

// Everything cuBLASLt's choice of algorithm depends on. Pointers enter only through alignment:
// the matrices' (the preference's MIN_ALIGNMENT_*_BYTES) and the epilogue's bias vector and aux
// matrix (cuBLASLt reads those pointers' alignment off the descriptor when it picks an
// algorithm, so a plan holds only for pointers aligned as the ones it was picked with).
// epilogue is a cublasLtEpilogue_t (DEFAULT: none); aux_type -1 when it has no aux matrix.
struct PlanKey {
  int device;
  bool trans_a, trans_b;
  int epilogue;
  int64_t M, N, K, lda, ldb, ldc, batch, stride_a, stride_b, stride_c;
  int ab_type, c_type, compute;
  uint32_t align_a, align_b, align_c;
  int64_t ldaux = 0;
  int aux_type = -1;
  uint32_t align_vector = 0, align_aux = 0;  // 0: no such pointer
  int vector_type = static_cast<int>(DType::kF32);
  auto Tie() const {
    return std::tie(device, trans_a, trans_b, epilogue, M, N, K, lda, ldb, ldc, batch, stride_a,
                    stride_b, stride_c, ab_type, c_type, compute, align_a, align_b, align_c, ldaux,
                    aux_type, align_vector, align_aux, vector_type);
  }
  bool operator<(const PlanKey& o) const { return Tie() < o.Tie(); }
};

// The epilogue of a TryLt call: its cuBLASLt code (DEFAULT: none) and pointers.
struct LtEpilogue {
  cublasLtEpilogue_t code = CUBLASLT_EPILOGUE_DEFAULT;
  const void* vector = nullptr;  // BIAS_POINTER: the bias, or where the bias gradient goes
  DType vector_type = DType::kF32;
  void* aux = nullptr;
  int64_t ldaux = 0;
  int aux_type = -1;
};

// The cuBLASLt descriptors and the chosen algorithm of one problem; found == false records a
// decline, so the heuristic is asked once per problem either way.
struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool found = false;
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

cublasLtMatrixLayout_t Layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                              int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                  &count, sizeof(count)));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return layout;
}

// The attributes of an epilogue plan (BIAS, GELU_AUX_BIAS, DGELU_BGRAD, BGRADB), its pointers
// included: the heuristic reads their alignment. False when cuBLASLt refuses one (an older
// library), which is a decline rather than an error.
bool SetEpilogue(cublasLtMatmulDesc_t op, const PlanKey& key, const LtEpilogue& e) {
  const auto epilogue = static_cast<cublasLtEpilogue_t>(key.epilogue);
  // fp32 (the master parameters and their gradients), or bf16 (TryBf16Vector).
  const cudaDataType_t bias_type = CudaType(static_cast<DType>(key.vector_type));
  bool ok = cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                           sizeof(epilogue)) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                           sizeof(bias_type)) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &e.vector,
                                           sizeof(e.vector)) == CUBLAS_STATUS_SUCCESS;
  if (ok && key.aux_type >= 0) {
    const int64_t ld = key.ldaux;
    const cudaDataType_t aux_type = CudaType(static_cast<DType>(key.aux_type));
    ok = cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld,
                                        sizeof(ld)) == CUBLAS_STATUS_SUCCESS &&
         cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &aux_type,
                                        sizeof(aux_type)) == CUBLAS_STATUS_SUCCESS &&
         cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &e.aux,
                                        sizeof(e.aux)) == CUBLAS_STATUS_SUCCESS;
  }
  return ok;
}

// Builds the plan of `key` for g. Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
// cuBLASLt's A is our B.
std::unique_ptr<Plan> MakePlan(const Context& ctx, const GemmArgs& g, const PlanKey& key,
                               const LtEpilogue& e) {
  auto plan = std::make_unique<Plan>();
  const auto compute = static_cast<cublasComputeType_t>(key.compute);
  // A compute type this cuBLASLt does not offer is a decline, not an error: the caller falls back.
  if (cublasLtMatmulDescCreate(&plan->op, compute, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) {
    plan->op = nullptr;
    return plan;
  }
  const cublasOperation_t op_a = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  if (key.epilogue != CUBLASLT_EPILOGUE_DEFAULT && !SetEpilogue(plan->op, key, e)) {
    return plan;  // this cuBLASLt does not take the epilogue's attributes: a decline
  }
  const cudaDataType_t ab = CudaType(g.ab_type), c = CudaType(g.c_type);
  plan->a = g.trans_b ? Layout(ab, g.K, g.N, g.ldb, g.batch, g.stride_b)
                      : Layout(ab, g.N, g.K, g.ldb, g.batch, g.stride_b);
  plan->b = g.trans_a ? Layout(ab, g.M, g.K, g.lda, g.batch, g.stride_a)
                      : Layout(ab, g.K, g.M, g.lda, g.batch, g.stride_a);
  plan->c = Layout(c, g.N, g.M, g.ldc, g.batch, g.stride_c);

  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t workspace = ctx.cuda()->workspace_bytes;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &workspace, sizeof(workspace)));
  // cuBLASLt assumes 256-byte aligned matrices unless told otherwise; attention and the losses
  // pass matrices at column offsets.
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &key.align_a, sizeof(key.align_a)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &key.align_b, sizeof(key.align_b)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &key.align_c, sizeof(key.align_c)));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &key.align_c, sizeof(key.align_c)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      ctx.cuda()->lt, plan->op, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  plan->found = status == CUBLAS_STATUS_SUCCESS && found > 0;
  if (plan->found) plan->algo = result.algo;
  return plan;
}

// Sets an epilogue plan's pointers and runs the plan. An epilogue plan's failing status launched
// nothing (cuBLASLt validates before it enqueues): the plan is marked declined and false tells the
// caller to fall back. A plain plan's failure is an error.
bool RunPlan(const Context& ctx, const GemmArgs& g, const LtEpilogue& e, Plan& plan) {
  CudaHandles* h = ctx.cuda();
  const void* c_in = g.C_in != nullptr ? g.C_in : g.C;
  if (e.code == CUBLASLT_EPILOGUE_DEFAULT) {
    CUBLAS_CHECK(cublasLtMatmul(h->lt, plan.op, &g.alpha, g.B, plan.a, g.A, plan.b, &g.beta, c_in,
                                plan.c, g.C, plan.c, &plan.algo, h->workspace, h->workspace_bytes,
                                h->stream));
    return true;
  }
  cublasStatus_t s = cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                    &e.vector, sizeof(e.vector));
  if (s == CUBLAS_STATUS_SUCCESS && e.aux != nullptr) {
    s = cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &e.aux,
                                       sizeof(e.aux));
  }
  if (s == CUBLAS_STATUS_SUCCESS) {
    s = cublasLtMatmul(h->lt, plan.op, &g.alpha, g.B, plan.a, g.A, plan.b, &g.beta, c_in, plan.c,
                       g.C, plan.c, &plan.algo, h->workspace, h->workspace_bytes, h->stream);
  }
  if (s != CUBLAS_STATUS_SUCCESS) {
    LOG_FIRST_N(WARNING, 5) << "gemm: cuBLASLt epilogue " << static_cast<int>(e.code)
                            << " failed for M " << g.M << " N " << g.N << " K " << g.K << " ("
                            << cublasGetStatusString(s) << "); using separate passes";
    plan.found = false;
    return false;
  }
  return true;
}

// Plans live for the process: a training run sees a few hundred distinct problems.
std::mutex plans_mutex;
std::map<PlanKey, std::unique_ptr<Plan>>& Plans() {
  static auto* plans = new std::map<PlanKey, std::unique_ptr<Plan>>();
  return *plans;
}

// Runs g through cuBLASLt with `compute` and epilogue `e` (its pointers in `e`, g.bias unread);
// false when no algorithm fits or the epilogue failed (nothing was launched).
bool TryLt(const Context& ctx, const GemmArgs& g, cublasComputeType_t compute,
           const LtEpilogue& e) {
  CudaHandles* h = ctx.cuda();
  const size_t ab_bytes = DTypeSize(g.ab_type), c_bytes = DTypeSize(g.c_type);
  PlanKey key{
      h->device,
      g.trans_a,
      g.trans_b,
      static_cast<int>(e.code),
      g.M,
      g.N,
      g.K,
      g.lda,
      g.ldb,
      g.ldc,
      g.batch,
      g.stride_a,
      g.stride_b,
      g.stride_c,
      static_cast<int>(g.ab_type),
      static_cast<int>(g.c_type),
      static_cast<int>(compute),
      AlignmentBytes(g.B, g.batch, g.stride_b, ab_bytes),
      AlignmentBytes(g.A, g.batch, g.stride_a, ab_bytes),
      std::min(AlignmentBytes(g.C, g.batch, g.stride_c, c_bytes),
               AlignmentBytes(g.C_in != nullptr ? g.C_in : g.C, g.batch, g.stride_c, c_bytes))};
  key.ldaux = e.ldaux;
  key.aux_type = e.aux_type;
  if (e.vector != nullptr) key.align_vector = AlignmentBytes(e.vector, 1, 0, sizeof(float));
  if (e.aux != nullptr) key.align_aux = AlignmentBytes(e.aux, 1, 0, c_bytes);
  key.vector_type = static_cast<int>(e.vector_type);
  std::lock_guard<std::mutex> lock(plans_mutex);
  auto& slot = Plans()[key];
  if (slot == nullptr) slot = MakePlan(ctx, g, key, e);
  Plan& plan = *slot;
  if (!plan.found) return false;
  return RunPlan(ctx, g, e, plan);
}

void LaunchNaive(const Context& ctx, const GemmArgs& g) {
  const unsigned grid = GridFor(g.batch * g.M * g.N);
  if (g.ab_type == DType::kF32 && g.c_type == DType::kF32) {
    NaiveGemmKernel<float, float><<<grid, kThreads, 0, Stream(ctx)>>>(g);
  } else if (g.ab_type == DType::kBF16 && g.c_type == DType::kF32) {
    NaiveGemmKernel<__nv_bfloat16, float><<<grid, kThreads, 0, Stream(ctx)>>>(g);
  } else if (g.ab_type == DType::kBF16 && g.c_type == DType::kBF16) {
    NaiveGemmKernel<__nv_bfloat16, __nv_bfloat16><<<grid, kThreads, 0, Stream(ctx)>>>(g);
  } else {
    NaiveGemmKernel<float, __nv_bfloat16><<<grid, kThreads, 0, Stream(ctx)>>>(g);
  }
  CUDA_CHECK_LAUNCH();
}

void AddBiasRows(const Context& ctx, const GemmArgs& g) {
  const unsigned grid = GridFor(g.M * g.N);
  if (g.c_type == DType::kF32) {
    AddBiasRowsKernel<<<grid, kThreads, 0, Stream(ctx)>>>(static_cast<float*>(g.C), g.ldc, g.bias,
                                                          g.M, g.N);
  } else {
    AddBiasRowsKernel<<<grid, kThreads, 0, Stream(ctx)>>>(static_cast<__nv_bfloat16*>(g.C), g.ldc,
                                                          g.bias, g.M, g.N);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void Gemm(const Context& ctx, const GemmArgs& g) {
  CHECK(g.M >= 0 && g.N >= 0 && g.K >= 0 && g.batch >= 1) << "gemm: bad sizes";
  CHECK((g.ab_type == DType::kF32 || g.ab_type == DType::kBF16) &&
        (g.c_type == DType::kF32 || g.c_type == DType::kBF16))
      << "gemm: inputs " << DTypeName(g.ab_type) << ", output " << DTypeName(g.c_type);
  if (g.M == 0 || g.N == 0) return;
  CHECK(g.ldc >= g.N && g.lda >= (g.trans_a ? g.M : g.K) && g.ldb >= (g.trans_b ? g.K : g.N))
      << "gemm: leading dimensions " << g.lda << ", " << g.ldb << ", " << g.ldc << " for M " << g.M
      << " N " << g.N << " K " << g.K;
  if (g.K == 0 || g.batch > INT32_MAX) {
    LaunchNaive(ctx, g);
    return;
  }
  // The preferred compute type (F32: exact fp32, or TF32 where the context allows it; BF16: fp32
  // accumulation), then plain fp32 accumulation as the fallback; no allocation on this path.
  cublasComputeType_t computes[2] = {CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_COMPUTE_32F};
  if (g.ab_type == DType::kBF16) {
    computes[0] = CUBLAS_COMPUTE_32F;
  } else if (ctx.cuda()->allow_tf32) {
    computes[0] = CUBLAS_COMPUTE_32F_FAST_TF32;
  }
  const int num_computes = computes[0] == CUBLAS_COMPUTE_32F ? 1 : 2;
  // The fused bias is only offered a 16-byte aligned vector; otherwise it is added afterwards.
  const bool bias = g.bias != nullptr;
  if (bias && reinterpret_cast<uintptr_t>(g.bias) % 16 == 0) {
    LtEpilogue with_bias;
    with_bias.code = CUBLASLT_EPILOGUE_BIAS;
    with_bias.vector = g.bias;
    for (int i = 0; i < num_computes; ++i) {
      if (TryLt(ctx, g, computes[i], with_bias)) return;
    }
  }
  GemmArgs plain = g;
  plain.bias = nullptr;
  bool done = false;
  for (int i = 0; i < num_computes && !done; ++i) done = TryLt(ctx, plain, computes[i], {});
  if (!done) {
    LOG_FIRST_N(WARNING, 5) << "gemm: cuBLASLt has no algorithm for M " << g.M << " N " << g.N
                            << " K " << g.K << " batch " << g.batch << "; using the plain kernel";
    LaunchNaive(ctx, plain);
  }
  if (bias) {
    CHECK_EQ(g.batch, 1) << "gemm: bias with batches";
    AddBiasRows(ctx, g);
  }
}

namespace {

__global__ void AddF32Kernel(float* dst, const float* src, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] += src[i];
  }
}

// dst[i] = src[i] rounded to bf16, i < n.
__global__ void ToBf16Kernel(__nv_bfloat16* dst, const float* src, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = __float2bfloat16_rn(src[i]);
  }
}

// dst[i] = src[i], bf16 widened to fp32, i < n.
__global__ void ToF32Kernel(float* dst, const __nv_bfloat16* src, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = __bfloat162float(src[i]);
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Whether cuBLASLt may be offered `e` on g at all (our checks; its heuristic has the last word).
bool EpilogueFits(const GemmArgs& g, const EpilogueArgs& e) {
  if (g.batch != 1 || g.K == 0 || g.M == 0 || g.N == 0 || g.C_in != nullptr) return false;
  const bool aux_ok = e.aux != nullptr && Aligned16(e.aux) && e.ldaux >= g.N && e.ldaux % 8 == 0 &&
                      e.aux_type == g.c_type;
  const bool grad_ok = e.bias_grad != nullptr && Aligned16(e.bias_grad);
  switch (e.kind) {
    case GemmEpilogue::kGeluAuxBias:
      return g.bias != nullptr && Aligned16(g.bias) && aux_ok && g.beta == 0.0f;
    case GemmEpilogue::kDGeluBgrad:
      return g.bias == nullptr && aux_ok && grad_ok && g.beta == 0.0f;
    case GemmEpilogue::kBgradA:
      return g.bias == nullptr && g.trans_a && grad_ok;
  }
  return false;
}

// GELU_AUX_BIAS or DGELU_BGRAD on a bf16 C with a bf16 vector [g.N], the type cublasLt.h documents
// for it ("the same type as the output elements"): the fp32 bias rounded into a scratch copy
// first, or the bias gradient widened from one into e.bias_grad after. False: nothing launched
// but the rounding.
bool TryBf16Vector(const Context& ctx, const GemmArgs& g, cublasComputeType_t compute,
                   LtEpilogue lt, const EpilogueArgs& e) {
  Scratch scratch(ctx, static_cast<size_t>(g.N) * sizeof(__nv_bfloat16));
  auto* vector = reinterpret_cast<__nv_bfloat16*>(scratch.f32());
  if (e.kind == GemmEpilogue::kGeluAuxBias) {
    ToBf16Kernel<<<GridFor(g.N), kThreads, 0, Stream(ctx)>>>(vector, g.bias, g.N);
    CUDA_CHECK_LAUNCH();
  }
  lt.vector = vector;
  lt.vector_type = DType::kBF16;
  if (!TryLt(ctx, g, compute, lt)) return false;
  Counts().epilogue_bf16_vector.fetch_add(1);
  if (e.kind == GemmEpilogue::kDGeluBgrad) {
    ToF32Kernel<<<GridFor(g.N), kThreads, 0, Stream(ctx)>>>(e.bias_grad, vector, g.N);
    CUDA_CHECK_LAUNCH();
  }
  return true;
}

}  // namespace

bool TryGemmEpilogue(const Context& ctx, const GemmArgs& g, const EpilogueArgs& e) {
  bool done = false;
  if (Paths().gemm_epilogues.load() && EpilogueFits(g, e)) {
    LtEpilogue lt;
    switch (e.kind) {
      case GemmEpilogue::kGeluAuxBias:
        lt.code = CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
        lt.vector = g.bias;
        break;
      case GemmEpilogue::kDGeluBgrad:
        lt.code = CUBLASLT_EPILOGUE_DGELU_BGRAD;
        lt.vector = e.bias_grad;
        break;
      case GemmEpilogue::kBgradA:
        // Our A is cuBLASLt's B (row-major as column-major): its gradient is BGRADB's.
        lt.code = CUBLASLT_EPILOGUE_BGRADB;
        lt.vector = e.bias_grad;
        break;
    }
    if (e.aux != nullptr && e.kind != GemmEpilogue::kBgradA) {
      lt.aux = e.aux;
      lt.ldaux = e.ldaux;
      lt.aux_type = static_cast<int>(e.aux_type);
    }
    // The bf16 inputs' compute type (fp32 accumulation); F32 inputs as Gemm would run them.
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (g.ab_type == DType::kF32 && !ctx.cuda()->allow_tf32) compute = CUBLAS_COMPUTE_32F_PEDANTIC;
    if (g.ab_type == DType::kF32 && ctx.cuda()->allow_tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    // The epilogue's vector travels in `lt`: fp32 first; with a bf16 C (GELU_AUX_BIAS, DGELU_BGRAD)
    // cublasLt.h documents only C's type for it, so where cuBLASLt declines fp32, bf16.
    const bool bf16_vector = g.c_type == DType::kBF16 && e.kind != GemmEpilogue::kBgradA;
    if (!bf16_vector || Paths().f32_epilogue_vectors.load()) done = TryLt(ctx, g, compute, lt);
    if (!done && bf16_vector) done = TryBf16Vector(ctx, g, compute, lt, e);
  }
  (done ? Counts().epilogue_fused : Counts().epilogue_fallback).fetch_add(1);
  return done;
}

void AddF32(const Context& ctx, float* dst, const float* src, int64_t n) {
  if (n <= 0) return;
  AddF32Kernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(dst, src, n);
  CUDA_CHECK_LAUNCH();
}

PathOptions& Paths() {
  static PathOptions* options = new PathOptions;
  return *options;
}

PathCounts& Counts() {
  static PathCounts* counts = new PathCounts;
  return *counts;
}

}  // namespace tigerfg::ops::cuda
