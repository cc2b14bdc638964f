// ops/cpu/embedding.cc — nn.Embedding on the CPU backend (ids checked against the vocabulary): row
// gather forward, scatter-add backward.
#include "ops/embedding.h"

#include <omp.h>

#include <algorithm>

#include "ops/backend.h"

namespace tigerfg::ops::cpu {
namespace {

void CheckIds(const int64_t* ids, int64_t tokens, int64_t vocab) {
  for (int64_t t = 0; t < tokens; ++t) {
    CHECK(ids[t] >= 0 && ids[t] < vocab)
        << "embedding: id " << ids[t] << " at token " << t << " outside [0, " << vocab << ")";
  }
}

}  // namespace

void EmbeddingForward(const Context& ctx, Tensor out, const Tensor& ids, const Tensor& table) {
  const int64_t V = table.dim(0), D = table.dim(1), T = ids.numel();  // shapes checked on entry
  const int64_t* pid = ids.i64();
  CheckIds(pid, T, V);
  const float* src = table.f32();
  float* dst = out.f32();
#pragma omp parallel for if (T * D > (1 << 15))
  for (int64_t t = 0; t < T; ++t) std::copy(src + pid[t] * D, src + pid[t] * D + D, dst + t * D);
}

void EmbeddingBackward(const Context& ctx, Tensor dtable, const Tensor& dout, const Tensor& ids) {
  const int64_t V = dtable.dim(0), D = dtable.dim(1), T = ids.numel();  // shapes checked on entry
  const int64_t* pid = ids.i64();
  CheckIds(pid, T, V);
  const float* src = dout.f32();
  float* dst = dtable.f32();
  // Repeated ids would race under a split over tokens, so threads split the columns instead.
  const int threads = T * D > (1 << 15) ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads)
  {
    const int th = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t begin = D * th / nt, end = D * (th + 1) / nt;
    for (int64_t t = 0; t < T; ++t) {
      const float* g = src + t * D;
      float* row = dst + pid[t] * D;
#pragma omp simd
      for (int64_t d = begin; d < end; ++d) row[d] += g[d];
    }
  }
}

}  // namespace tigerfg::ops::cpu
