// ops/cuda/losses.cu — the TIGER-FG loss terms on CUDA (scaled logits, multi-positive InfoNCE,
// SDD, SRD) for a rank's local rows: GEMMs through cuBLASLt, one block per loss row with
// reductions in double, and the mean written to loss[1] on the device. Arguments arrive checked by
// the public entry points (ops/losses.cc), which validate shapes before dispatching here.
#include <cmath>

#include "ops/backend.h"
#include "ops/cuda/common.cuh"

namespace tigerfg::ops::cuda {
namespace {

constexpr double kTeacherLogFloor = 1e-30;  // p_t.clamp_min(1e-30).log() in kl_rows
constexpr float kMapLogFloor = 1e-8f;       // amap.clamp_min(LOG_FLOOR).log() in the spec

struct KeepAll {
  __device__ bool operator()(int64_t) const { return true; }
};
struct KeepSameId {
  const int64_t* ids;
  int64_t id;
  __device__ bool operator()(int64_t j) const { return ids[j] == id; }
};

// log Σ_j exp(x_j) over the j with keep(j), max-shifted, in double; -inf when nothing is kept.
// The whole block calls it; every thread gets the result.
template <typename Keep>
__device__ double RowLogSumExp(const float* x, int64_t n, Keep keep, double* shared,
                               float* shared_max) {
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    if (keep(j)) m = fmaxf(m, x[j]);
  }
  m = BlockMax(m, shared_max);
  if (m == -INFINITY) return -INFINITY;
  double sum = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    if (keep(j)) sum += exp(static_cast<double>(x[j]) - m);
  }
  return m + log(BlockSum(sum, shared));
}

// loss[0] = Σ rows[i] / b, one block.
__global__ void MeanRowsKernel(float* loss, const double* rows, int64_t b) {
  __shared__ double shared[32];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < b; i += blockDim.x) acc += rows[i];
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(acc / b);
}

void WriteMean(const Context& ctx, Tensor loss, const double* rows, int64_t b) {
  MeanRowsKernel<<<1, kThreads, 0, Stream(ctx)>>>(loss.f32(), rows, b);
  CUDA_CHECK_LAUNCH();
}

// ---- scaled logits

__global__ void ClampedScaleKernel(float* scale, const float* logit_scale, float max_scale) {
  scale[0] = fminf(expf(logit_scale[0]), max_scale);
}

// x[i] *= scale[0] for two matrices (b may be null).
__global__ void ScaleByKernel(float* a, float* b, int64_t n, const float* scale) {
  const float s = scale[0];
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    a[i] *= s;
    if (b != nullptr) b[i] *= s;
  }
}

// dlogit_scale += s · (Σ q_local ⊙ dq_local + Σ e_local ⊙ de_local) unless the clamp is active;
// dq/de hold the unscaled local-row products at this point. One block.
__global__ void LogitScaleGradKernel(float* dlogit_scale, const float* q_local,
                                     const float* dq_local, const float* e_local,
                                     const float* de_local, int64_t n, const float* logit_scale,
                                     const float* scale, float max_scale) {
  __shared__ double shared[32];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    acc += static_cast<double>(q_local[i]) * dq_local[i];
    if (de_local != nullptr) acc += static_cast<double>(e_local[i]) * de_local[i];
  }
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0 && !(expf(logit_scale[0]) > max_scale)) {
    dlogit_scale[0] += static_cast<float>(scale[0] * acc);
  }
}

// ---- multi-positive InfoNCE

__global__ void NceForwardKernel(double* rows, const float* logits, const int64_t* ids, int64_t G,
                                 int64_t row0) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t i = blockIdx.x;
  const float* row = logits + i * G;
  const double lse_all = RowLogSumExp(row, G, KeepAll{}, shared, shared_max);
  const double lse_pos = RowLogSumExp(row, G, KeepSameId{ids, ids[row0 + i]}, shared, shared_max);
  if (threadIdx.x == 0) rows[i] = lse_all - lse_pos;
}

__global__ void NceBackwardKernel(float* dlogits, const float* logits, const int64_t* ids,
                                  int64_t G, int64_t row0, double g) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t i = blockIdx.x;
  const float* row = logits + i * G;
  const int64_t id = ids[row0 + i];
  const double lse_all = RowLogSumExp(row, G, KeepAll{}, shared, shared_max);
  const double lse_pos = RowLogSumExp(row, G, KeepSameId{ids, id}, shared, shared_max);
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) {
    double d = exp(row[j] - lse_all);
    if (ids[j] == id) d -= exp(row[j] - lse_pos);
    dlogits[i * G + j] = static_cast<float>(g * d);
  }
}

// ---- SDD: p_teacher rows hold the teacher logits on entry, the teacher softmax on exit.
__global__ void SddForwardKernel(double* rows, float* p_teacher, const float* student, int64_t G) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t i = blockIdx.x;
  float* t = p_teacher + i * G;
  const float* s = student + i * G;
  const double lse_t = RowLogSumExp(t, G, KeepAll{}, shared, shared_max);
  const double lse_s = RowLogSumExp(s, G, KeepAll{}, shared, shared_max);
  double acc = 0;
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) {
    const double p = exp(t[j] - lse_t);
    t[j] = static_cast<float>(p);
    acc += p * (log(fmax(p, kTeacherLogFloor)) - (s[j] - lse_s));
  }
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) rows[i] = acc;
}

// d/ds_ij = g (softmax(s)_ij Σ_j p_ij - p_ij), accumulated.
__global__ void SddBackwardKernel(float* dstudent, const float* p_teacher, const float* student,
                                  int64_t G, double g) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t i = blockIdx.x;
  const float* t = p_teacher + i * G;
  const float* s = student + i * G;
  const double lse_s = RowLogSumExp(s, G, KeepAll{}, shared, shared_max);
  double mass = 0;
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) mass += t[j];
  mass = BlockSum(mass, shared);
  for (int64_t j = threadIdx.x; j < G; j += blockDim.x) {
    dstudent[i * G + j] += static_cast<float>(g * (exp(s[j] - lse_s) * mass - t[j]));
  }
}

// ---- SRD: teacher_map[i, n] = softmax_n(tp[i, n] · tq[i] / tau_map); loss row i.
__global__ void SrdForwardKernel(double* rows, float* teacher_map, const float* amap,
                                 const float* tp, const float* tq, int64_t N, int64_t Et,
                                 float inv_tau) {
  __shared__ double shared[32];
  __shared__ float shared_max[32];
  const int64_t i = blockIdx.x;
  float* m = teacher_map + i * N;
  const float* q = tq + i * Et;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const float* pn = tp + (i * N + n) * Et;
    float dot = 0;
    for (int64_t e = 0; e < Et; ++e) dot += pn[e] * q[e];
    m[n] = inv_tau * dot;
  }
  __syncthreads();
  const double lse = RowLogSumExp(m, N, KeepAll{}, shared, shared_max);
  double acc = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const double p = exp(m[n] - lse);
    m[n] = static_cast<float>(p);
    const double log_a = logf(fmaxf(amap[i * N + n], kMapLogFloor));
    acc += p * (log(fmax(p, kTeacherLogFloor)) - log_a);
  }
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) rows[i] = acc;
}

// ---- SRD towards a given target: loss row i = Σ_n t (log max(t, 1e-30) - log max(a, 1e-8)).
__global__ void SrdTargetForwardKernel(double* rows, const float* target, const float* amap,
                                       int64_t N) {
  __shared__ double shared[32];
  const int64_t i = blockIdx.x;
  double acc = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const double t = target[i * N + n];
    if (t == 0) continue;
    acc += t * (log(fmax(t, kTeacherLogFloor)) - logf(fmaxf(amap[i * N + n], kMapLogFloor)));
  }
  acc = BlockSum(acc, shared);
  if (threadIdx.x == 0) rows[i] = acc;
}

__global__ void SrdBackwardKernel(float* damap, const float* teacher_map, const float* amap,
                                  int64_t n, float g) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    damap[k] = amap[k] > kMapLogFloor ? -g * teacher_map[k] / amap[k] : 0.0f;
  }
}

}  // namespace

void ScaledLogitsForward(const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale,
                         const Tensor& q, const Tensor& e, const Tensor& logit_scale,
                         float max_scale, int64_t row0) {
  const int64_t G = q.dim(0), E = q.dim(1);
  const int64_t b = row_logits.dim(0);
  ClampedScaleKernel<<<1, 1, 0, Stream(ctx)>>>(scale.f32(), logit_scale.f32(), max_scale);
  CUDA_CHECK_LAUNCH();
  // Unscaled products first; the device-side scale multiplies them afterwards.
  GemmArgs g;
  g.M = b;
  g.N = G;
  g.K = E;
  g.A = q.f32() + row0 * E;
  g.lda = E;
  g.B = e.f32();
  g.ldb = E;
  g.trans_b = true;
  g.C = row_logits.f32();
  g.ldc = G;
  Gemm(ctx, g);
  if (col_logits.defined()) {
    g.A = e.f32() + row0 * E;
    g.B = q.f32();
    g.C = col_logits.f32();
    Gemm(ctx, g);
  }
  if (b * G == 0) return;
  ScaleByKernel<<<GridFor(b * G), kThreads, 0, Stream(ctx)>>>(
      row_logits.f32(), col_logits.defined() ? col_logits.f32() : nullptr, b * G, scale.f32());
  CUDA_CHECK_LAUNCH();
}

void ScaledLogitsBackward(const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale,
                          const Tensor& drow_logits, const Tensor& dcol_logits, const Tensor& q,
                          const Tensor& e, const Tensor& logit_scale, const Tensor& scale,
                          float max_scale, int64_t row0) {
  const int64_t G = q.dim(0), E = q.dim(1);
  const int64_t b = drow_logits.dim(0);
  if (G * E == 0) return;
  const bool has_col = dcol_logits.defined();
  float* pdq = dq.f32();
  float* pde = de.f32();
  const float* pq = q.f32();
  const float* pe = e.f32();
  CUDA_CHECK(cudaMemsetAsync(pdq, 0, dq.nbytes(), Stream(ctx)));
  CUDA_CHECK(cudaMemsetAsync(pde, 0, de.nbytes(), Stream(ctx)));
  // Everything below is unscaled; one pass multiplies dq and de by s at the end.
  // dq[row0 + i] = Σ_j drow_ij e_j ; de[row0 + i] = Σ_j dcol_ij q_j
  GemmArgs g = RowMajorGemm(b, E, G, drow_logits.f32(), G, pe, E, pdq + row0 * E, E);
  Gemm(ctx, g);
  if (has_col) {
    g.A = dcol_logits.f32();
    g.B = pq;
    g.C = pde + row0 * E;
    Gemm(ctx, g);
  }
  // d logits / d logit_scale = logits: read it off the local rows before the transposed parts add.
  LogitScaleGradKernel<<<1, kThreads, 0, Stream(ctx)>>>(
      dlogit_scale.f32(), pq + row0 * E, pdq + row0 * E, pe + row0 * E,
      has_col ? pde + row0 * E : nullptr, b * E, logit_scale.f32(), scale.f32(), max_scale);
  CUDA_CHECK_LAUNCH();
  // dq[j] += Σ_i dcol_ij e[row0 + i] ; de[j] += Σ_i drow_ij q[row0 + i]
  auto add_transposed = [&](const float* dlogits, const float* rows, float* into) {
    GemmArgs t = RowMajorGemm(G, E, b, dlogits, G, rows, E, into, E);
    t.trans_a = true;
    t.beta = 1.0f;
    Gemm(ctx, t);
  };
  if (has_col) add_transposed(dcol_logits.f32(), pe + row0 * E, pdq);
  add_transposed(drow_logits.f32(), pq + row0 * E, pde);
  ScaleByKernel<<<GridFor(G * E), kThreads, 0, Stream(ctx)>>>(pdq, pde, G * E, scale.f32());
  CUDA_CHECK_LAUNCH();
}

void MultiPositiveNceForward(const Context& ctx, Tensor loss, const Tensor& logits,
                             const Tensor& product_ids, int64_t row0) {
  const int64_t b = logits.dim(0), G = logits.dim(1);
  CHECK_GT(b, 0) << "MultiPositiveNceForward: no local rows";
  Scratch rows(ctx, b * sizeof(double));
  NceForwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      rows.f64(), logits.f32(), product_ids.i64(), G, row0);
  CUDA_CHECK_LAUNCH();
  WriteMean(ctx, loss, rows.f64(), b);
}

void MultiPositiveNceBackward(const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,
                              const Tensor& product_ids, int64_t row0) {
  const int64_t b = logits.dim(0), G = logits.dim(1);
  if (b == 0) return;
  NceBackwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      dlogits.f32(), logits.f32(), product_ids.i64(), G, row0, static_cast<double>(dloss) / b);
  CUDA_CHECK_LAUNCH();
}

void SddLossForward(const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,
                    const Tensor& teacher_q, const Tensor& teacher_items, float tau) {
  const int64_t b = student_logits.dim(0), G = student_logits.dim(1);
  const int64_t Et = teacher_items.dim(1);
  CHECK_GT(b, 0) << "SddLossForward: no local rows";
  GemmArgs g;
  g.M = b;
  g.N = G;
  g.K = Et;
  g.alpha = 1.0f / tau;
  g.A = teacher_q.f32();
  g.lda = Et;
  g.B = teacher_items.f32();
  g.ldb = Et;
  g.trans_b = true;
  g.C = p_teacher.f32();
  g.ldc = G;
  Gemm(ctx, g);
  Scratch rows(ctx, b * sizeof(double));
  SddForwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      rows.f64(), p_teacher.f32(), student_logits.f32(), G);
  CUDA_CHECK_LAUNCH();
  WriteMean(ctx, loss, rows.f64(), b);
}

void SddLossBackward(const Context& ctx, Tensor dstudent_logits, float dloss,
                     const Tensor& p_teacher, const Tensor& student_logits) {
  const int64_t b = student_logits.dim(0), G = student_logits.dim(1);
  if (b == 0) return;
  SddBackwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      dstudent_logits.f32(), p_teacher.f32(), student_logits.f32(), G,
      static_cast<double>(dloss) / b);
  CUDA_CHECK_LAUNCH();
}

void SrdLossForward(const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,
                    const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map) {
  const int64_t b = amap.dim(0), N = amap.dim(1);
  const int64_t Et = teacher_q.dim(1);
  CHECK_GT(b, 0) << "SrdLossForward: no local rows";
  Scratch rows(ctx, b * sizeof(double));
  SrdForwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      rows.f64(), teacher_map.f32(), amap.f32(), teacher_patches.f32(), teacher_q.f32(), N, Et,
      1.0f / tau_map);
  CUDA_CHECK_LAUNCH();
  WriteMean(ctx, loss, rows.f64(), b);
}

void SrdTargetLossForward(const Context& ctx, Tensor loss, const Tensor& target_map,
                          const Tensor& amap) {
  const int64_t b = amap.dim(0), N = amap.dim(1);
  CHECK_GT(b, 0) << "SrdTargetLossForward: no local rows";
  Scratch rows(ctx, b * sizeof(double));
  SrdTargetForwardKernel<<<static_cast<unsigned>(b), kThreads, 0, Stream(ctx)>>>(
      rows.f64(), target_map.f32(), amap.f32(), N);
  CUDA_CHECK_LAUNCH();
  WriteMean(ctx, loss, rows.f64(), b);
}

void SrdLossBackward(const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,
                     const Tensor& amap) {
  const int64_t b = amap.dim(0), n = amap.numel();
  if (n == 0) return;
  SrdBackwardKernel<<<GridFor(n), kThreads, 0, Stream(ctx)>>>(
      damap.f32(), teacher_map.f32(), amap.f32(), n, dloss / static_cast<float>(b));
  CUDA_CHECK_LAUNCH();
}

namespace {

// ops/cpu/losses.cc's LossTermsUpdate, one thread, with the CPU's roundings spelled out: a fused
// multiply-add (__fma_rn, std::fma there) for each weighted addition to the total, __dmul_rn /
// __dadd_rn elsewhere, so the terms are the CPU's bits.
__global__ void LossTermsKernel(float* terms, double* d, const float* row, const float* col,
                                const float* srd, const float* sdd, LossTermWeights w) {
  const bool fresh = row != nullptr;
  if (fresh) {
    d[1] = __dmul_rn(0.5, __dadd_rn(static_cast<double>(row[0]), static_cast<double>(col[0])));
    d[0] = __dmul_rn(static_cast<double>(w.contrastive), d[1]);
    d[2] = d[3] = 0;
  }
  if (srd != nullptr) {
    const double s = __dmul_rn(w.srd_share, static_cast<double>(srd[0]));
    d[2] = fresh ? s : __dadd_rn(d[2], s);
    d[0] = __fma_rn(static_cast<double>(w.srd), s, d[0]);
  }
  if (sdd != nullptr) {
    d[3] = sdd[0];
    d[0] = __fma_rn(static_cast<double>(w.sdd), d[3], d[0]);
  }
  for (int k = 0; k < 4; ++k) terms[k] = static_cast<float>(d[k]);
  terms[4] = isfinite(d[0]) ? 0.0f : 1.0f;
}

}  // namespace

void LossTermsUpdate(const Context& ctx, Tensor terms, Tensor terms64, const Tensor& loss_row,
                     const Tensor& loss_col, const Tensor& loss_srd, const Tensor& loss_sdd,
                     const LossTermWeights& w) {
  auto ptr = [](const Tensor& t) { return t.defined() ? t.f32() : nullptr; };
  LossTermsKernel<<<1, 1, 0, Stream(ctx)>>>(terms.f32(), static_cast<double*>(terms64.data()),
                                            ptr(loss_row), ptr(loss_col), ptr(loss_srd),
                                            ptr(loss_sdd), w);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tigerfg::ops::cuda
