// ops/cpu/losses.cc — the TIGER-FG loss terms on the CPU backend (scaled logits, multi-positive
// InfoNCE, SDD, SRD) for a rank's local rows of the global batch; reductions in double.
#include "ops/losses.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/backend.h"
#include "ops/checks.h"

namespace tigerfg::ops::cpu {
namespace {

constexpr double kTeacherLogFloor = 1e-30;  // p_t.clamp_min(1e-30).log() in kl_rows
constexpr float kMapLogFloor = 1e-8f;       // amap.clamp_min(LOG_FLOOR).log() in the spec

// log Σ_j exp(x_j) over the j with keep(j), max-shifted; -inf when nothing is kept.
template <typename Keep>
double LogSumExp(const float* x, int64_t n, Keep keep) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j)
    if (keep(j)) m = std::max(m, static_cast<double>(x[j]));
  if (std::isinf(m)) return m;
  double sum = 0;
  for (int64_t j = 0; j < n; ++j)
    if (keep(j)) sum += std::exp(x[j] - m);
  return m + std::log(sum);
}

bool ScaleClamped(const Tensor& logit_scale, float max_scale) {
  return std::exp(logit_scale.f32()[0]) > max_scale;
}

// Σ_ij a_ij b_ij over `n` elements, in double.
double DotAll(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

void ScaledLogitsForward(const Context& ctx, Tensor row_logits, Tensor col_logits, Tensor scale,
                         const Tensor& q, const Tensor& e, const Tensor& logit_scale,
                         float max_scale, int64_t row0) {
  const int64_t G = q.dim(0), E = q.dim(1);
  const int64_t b = row_logits.dim(0);
  const float s = std::min(std::exp(logit_scale.f32()[0]), max_scale);
  scale.f32()[0] = s;
  const float* pq = q.f32();
  const float* pe = e.f32();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, G, E, s, pq + row0 * E, E, pe, E, 0.0f,
              row_logits.f32(), G);
  if (col_logits.defined()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, G, E, s, pe + row0 * E, E, pq, E, 0.0f,
                col_logits.f32(), G);
  }
}

void ScaledLogitsBackward(const Context& ctx, Tensor dq, Tensor de, Tensor dlogit_scale,
                          const Tensor& drow_logits, const Tensor& dcol_logits, const Tensor& q,
                          const Tensor& e, const Tensor& logit_scale, const Tensor& scale,
                          float max_scale, int64_t row0) {
  const int64_t G = q.dim(0), E = q.dim(1);
  const int64_t b = drow_logits.dim(0);
  const float s = scale.f32()[0];
  const float* pq = q.f32();
  const float* pe = e.f32();
  const float* pdr = drow_logits.f32();
  float* pdq = dq.f32();
  float* pde = de.f32();
  std::fill(pdq, pdq + G * E, 0.0f);
  std::fill(pde, pde + G * E, 0.0f);
  // d logits / d logit_scale = logits (s = exp(logit_scale) when unclamped), so the scale gradient
  // is Σ dlogits ⊙ logits = Σ_i q_i · (s Σ_j dlogits_ij e_j): read it off the local-row parts of
  // dq (and de) before the other logit matrix adds to them.
  double dscale = 0;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, E, G, s, pdr, G, pe, E, 0.0f,
              pdq + row0 * E, E);
  dscale += DotAll(pq + row0 * E, pdq + row0 * E, b * E);
  if (dcol_logits.defined()) {
    const float* pdc = dcol_logits.f32();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, E, G, s, pdc, G, pq, E, 0.0f,
                pde + row0 * E, E);
    dscale += DotAll(pe + row0 * E, pde + row0 * E, b * E);
    // dq[j] += s Σ_i dcol_ij e[row0 + i]
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, E, b, s, pdc, G, pe + row0 * E, E, 1.0f,
                pdq, E);
  }
  // de[j] += s Σ_i drow_ij q[row0 + i]
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, E, b, s, pdr, G, pq + row0 * E, E, 1.0f,
              pde, E);
  if (!ScaleClamped(logit_scale, max_scale)) dlogit_scale.f32()[0] += static_cast<float>(dscale);
}

void MultiPositiveNceForward(const Context& ctx, Tensor loss, const Tensor& logits,
                             const Tensor& product_ids, int64_t row0) {
  const int64_t b = logits.dim(0), G = logits.dim(1);
  const float* pl = logits.f32();
  const int64_t* pid = product_ids.i64();
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    const float* row = pl + i * G;
    const int64_t id = pid[row0 + i];
    const double lse_all = LogSumExp(row, G, [](int64_t) { return true; });
    const double lse_pos = LogSumExp(row, G, [&](int64_t j) { return pid[j] == id; });
    total += lse_all - lse_pos;
  }
  loss.f32()[0] = static_cast<float>(total / b);
}

void MultiPositiveNceBackward(const Context& ctx, Tensor dlogits, float dloss, const Tensor& logits,
                              const Tensor& product_ids, int64_t row0) {
  const int64_t b = logits.dim(0), G = logits.dim(1);
  const float* pl = logits.f32();
  const int64_t* pid = product_ids.i64();
  float* pd = dlogits.f32();
  const double g = static_cast<double>(dloss) / b;
  // d/dl_ij = softmax_all_ij - [j positive] softmax_pos_ij, per row, times dloss / b.
  for (int64_t i = 0; i < b; ++i) {
    const float* row = pl + i * G;
    const int64_t id = pid[row0 + i];
    const double lse_all = LogSumExp(row, G, [](int64_t) { return true; });
    const double lse_pos = LogSumExp(row, G, [&](int64_t j) { return pid[j] == id; });
    for (int64_t j = 0; j < G; ++j) {
      double d = std::exp(row[j] - lse_all);
      if (pid[j] == id) d -= std::exp(row[j] - lse_pos);
      pd[i * G + j] = static_cast<float>(g * d);
    }
  }
}

void SddLossForward(const Context& ctx, Tensor loss, Tensor p_teacher, const Tensor& student_logits,
                    const Tensor& teacher_q, const Tensor& teacher_items, float tau) {
  const int64_t b = student_logits.dim(0), G = student_logits.dim(1);
  const int64_t Et = teacher_items.dim(1);
  float* pt = p_teacher.f32();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, G, Et, 1.0f / tau, teacher_q.f32(), Et,
              teacher_items.f32(), Et, 0.0f, pt, G);
  const float* ps = student_logits.f32();
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    float* t = pt + i * G;
    const float* srow = ps + i * G;
    const double lse_t = LogSumExp(t, G, [](int64_t) { return true; });
    const double lse_s = LogSumExp(srow, G, [](int64_t) { return true; });
    for (int64_t j = 0; j < G; ++j) {
      const double p = std::exp(t[j] - lse_t);
      t[j] = static_cast<float>(p);
      total += p * (std::log(std::max(p, kTeacherLogFloor)) - (srow[j] - lse_s));
    }
  }
  loss.f32()[0] = static_cast<float>(total / b);
}

void SddLossBackward(const Context& ctx, Tensor dstudent_logits, float dloss,
                     const Tensor& p_teacher, const Tensor& student_logits) {
  const int64_t b = student_logits.dim(0), G = student_logits.dim(1);
  const float* pt = p_teacher.f32();
  const float* ps = student_logits.f32();
  float* pd = dstudent_logits.f32();
  const double g = static_cast<double>(dloss) / b;
  // d/ds_ij of -Σ_j p_ij log_softmax(s)_ij = softmax(s)_ij Σ_j p_ij - p_ij.
  for (int64_t i = 0; i < b; ++i) {
    const float* t = pt + i * G;
    const float* srow = ps + i * G;
    const double lse_s = LogSumExp(srow, G, [](int64_t) { return true; });
    double mass = 0;
    for (int64_t j = 0; j < G; ++j) mass += t[j];
    for (int64_t j = 0; j < G; ++j) {
      pd[i * G + j] += static_cast<float>(g * (std::exp(srow[j] - lse_s) * mass - t[j]));
    }
  }
}

void SrdLossForward(const Context& ctx, Tensor loss, Tensor teacher_map, const Tensor& amap,
                    const Tensor& teacher_patches, const Tensor& teacher_q, float tau_map) {
  const int64_t b = amap.dim(0), N = amap.dim(1);
  const int64_t Et = teacher_q.dim(1);
  const float* ptp = teacher_patches.f32();
  const float* ptq = teacher_q.f32();
  const float* pa = amap.f32();
  float* pm = teacher_map.f32();
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    float* m = pm + i * N;
    // m[n] = tp[i, n] · tq[i] / tau_map
    cblas_sgemv(CblasRowMajor, CblasNoTrans, N, Et, 1.0f / tau_map, ptp + i * N * Et, Et,
                ptq + i * Et, 1, 0.0f, m, 1);
    const double lse = LogSumExp(m, N, [](int64_t) { return true; });
    for (int64_t n = 0; n < N; ++n) {
      const double p = std::exp(m[n] - lse);
      m[n] = static_cast<float>(p);
      const double log_a = std::log(std::max(pa[i * N + n], kMapLogFloor));
      total += p * (std::log(std::max(p, kTeacherLogFloor)) - log_a);
    }
  }
  loss.f32()[0] = static_cast<float>(total / b);
}

void SrdTargetLossForward(const Context& ctx, Tensor loss, const Tensor& target_map,
                          const Tensor& amap) {
  const int64_t b = amap.dim(0), n_total = amap.numel();
  const float* pt = target_map.f32();
  const float* pa = amap.f32();
  double total = 0;
  for (int64_t k = 0; k < n_total; ++k) {
    const double t = pt[k];
    if (t == 0) continue;  // 0 · log(max(0, 1e-30)) = 0
    total +=
        t * (std::log(std::max(t, kTeacherLogFloor)) - std::log(std::max(pa[k], kMapLogFloor)));
  }
  loss.f32()[0] = static_cast<float>(total / b);
}

void SrdLossBackward(const Context& ctx, Tensor damap, float dloss, const Tensor& teacher_map,
                     const Tensor& amap) {
  const int64_t b = amap.dim(0), n_total = amap.numel();
  const float* pm = teacher_map.f32();
  const float* pa = amap.f32();
  float* pd = damap.f32();
  const float g = dloss / static_cast<float>(b);
  for (int64_t k = 0; k < n_total; ++k) pd[k] = pa[k] > kMapLogFloor ? -g * pm[k] / pa[k] : 0.0f;
}

// The host combined the loss terms in double exactly so before they stayed on the device; the
// weighted additions were fused multiply-adds there (the compiler contracted them), spelled out
// here and in the CUDA twin.
void LossTermsUpdate(const Context& /*ctx*/, Tensor terms, Tensor terms64, const Tensor& loss_row,
                     const Tensor& loss_col, const Tensor& loss_srd, const Tensor& loss_sdd,
                     const LossTermWeights& w) {
  double d[4];  // total, contrastive, srd, sdd
  std::memcpy(d, terms64.data(), sizeof(d));
  const bool fresh = loss_row.defined();
  if (fresh) {
    d[1] = 0.5 * (static_cast<double>(loss_row.f32()[0]) + static_cast<double>(loss_col.f32()[0]));
    d[0] = static_cast<double>(w.contrastive) * d[1];
    d[2] = d[3] = 0;
  }
  if (loss_srd.defined()) {
    const double s = w.srd_share * static_cast<double>(loss_srd.f32()[0]);
    d[2] = fresh ? s : d[2] + s;
    d[0] = std::fma(static_cast<double>(w.srd), s, d[0]);
  }
  if (loss_sdd.defined()) {
    d[3] = loss_sdd.f32()[0];
    d[0] = std::fma(static_cast<double>(w.sdd), d[3], d[0]);
  }
  std::memcpy(terms64.data(), d, sizeof(d));
  float* out = terms.f32();
  for (int k = 0; k < 4; ++k) out[k] = static_cast<float>(d[k]);
  out[4] = std::isfinite(d[0]) ? 0.0f : 1.0f;
}

}  // namespace tigerfg::ops::cpu
