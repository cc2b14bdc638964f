// tests/comm/gather_with_grad_test.cc — the gathered-embedding backward equals the single-process
// gradient of a global-batch loss, whatever the world size.
#include "comm/gather_with_grad.h"

#include <cmath>

#include "comm_test_util.h"

namespace tigerfg::comm {
namespace {

constexpr int64_t kLocalRows = 3;
constexpr int64_t kDim = 5;

// The global batch every rank can rebuild: q[G, E], e[G, E], w[G].
float Q(int64_t i, int64_t k) { return std::sin(0.7f * i + 0.3f * k); }
float Emb(int64_t i, int64_t k) { return std::cos(0.4f * i - 0.9f * k); }
float W(int64_t i) { return 0.5f + 0.25f * static_cast<float>(i % 4); }

// loss = sum_i w_i <q[i], e[(i+1) % G]>; each rank owns rows i of its local slice.
float LocalLoss(const float* q_all, const float* e_all, int64_t g, int64_t row_begin,
                int64_t row_end) {
  float loss = 0;
  for (int64_t i = row_begin; i < row_end; ++i) {
    for (int64_t k = 0; k < kDim; ++k)
      loss += W(i) * q_all[i * kDim + k] * e_all[((i + 1) % g) * kDim + k];
  }
  return loss;
}

TEST_P(CommTest, BackwardOfGatheredEmbeddingsMatchesSingleProcessGradient) {
  const int64_t g = kLocalRows * world_;
  const int64_t row0 = comm_->rank() * kLocalRows;
  Buffer q_local = Buffer::Zeros({kLocalRows, kDim}), e_local = Buffer::Zeros({kLocalRows, kDim});
  for (int64_t i = 0; i < kLocalRows; ++i) {
    for (int64_t k = 0; k < kDim; ++k) {
      q_local.f32()[i * kDim + k] = Q(row0 + i, k);
      e_local.f32()[i * kDim + k] = Emb(row0 + i, k);
    }
  }
  Buffer q_all = Buffer::Zeros({g, kDim}), e_all = Buffer::Zeros({g, kDim});
  GatherWithGradForward(*comm_, q_all, q_local)->Wait();
  GatherWithGradForward(*comm_, e_all, e_local)->Wait();
  for (int64_t i = 0; i < g; ++i) ASSERT_FLOAT_EQ(q_all.f32()[i * kDim + 1], Q(i, 1));

  // This rank's loss rows, differentiated with respect to the gathered embeddings.
  Buffer dq_all = Buffer::Zeros({g, kDim}), de_all = Buffer::Zeros({g, kDim});
  for (int64_t i = row0; i < row0 + kLocalRows; ++i) {
    const int64_t j = (i + 1) % g;
    for (int64_t k = 0; k < kDim; ++k) {
      dq_all.f32()[i * kDim + k] += W(i) * e_all.f32()[j * kDim + k];
      de_all.f32()[j * kDim + k] += W(i) * q_all.f32()[i * kDim + k];
    }
  }
  Buffer dq_local = Buffer::Zeros({kLocalRows, kDim}), de_local = Buffer::Zeros({kLocalRows, kDim});
  auto dq_work = GatherWithGradBackward(*comm_, dq_local, dq_all);
  auto de_work = GatherWithGradBackward(*comm_, de_local, de_all);
  dq_work->Wait();
  de_work->Wait();

  // Single process: central differences of the whole global loss in this rank's own rows.
  Buffer q_ref = Buffer::Zeros({g, kDim}), e_ref = Buffer::Zeros({g, kDim});
  for (int64_t i = 0; i < g; ++i) {
    for (int64_t k = 0; k < kDim; ++k) {
      q_ref.f32()[i * kDim + k] = Q(i, k);
      e_ref.f32()[i * kDim + k] = Emb(i, k);
    }
  }
  const float step = 1e-2f;
  for (int64_t i = 0; i < kLocalRows; ++i) {
    for (int64_t k = 0; k < kDim; ++k) {
      for (Buffer* x : {&q_ref, &e_ref}) {
        float& v = x->f32()[(row0 + i) * kDim + k];
        const float saved = v;
        v = saved + step;
        const float up = LocalLoss(q_ref.f32(), e_ref.f32(), g, 0, g);
        v = saved - step;
        const float down = LocalLoss(q_ref.f32(), e_ref.f32(), g, 0, g);
        v = saved;
        const float numeric = (up - down) / (2 * step);
        const float analytic = (x == &q_ref ? dq_local : de_local).f32()[i * kDim + k];
        EXPECT_NEAR(analytic, numeric, 2e-3f * std::max(1.0f, std::abs(numeric)))
            << (x == &q_ref ? "q" : "e") << " row " << row0 + i << " col " << k;
      }
    }
  }
}

TEST_P(CommTest, GatherIdsInRankOrder) {
  Buffer local(DType::kI64, Shape{2});
  local.i64()[0] = 100 * comm_->rank();
  local.i64()[1] = 100 * comm_->rank() + 7;
  Buffer all(DType::kI64, Shape{2 * world_});
  GatherIds(*comm_, all, local)->Wait();
  for (int r = 0; r < world_; ++r) {
    EXPECT_EQ(all.i64()[2 * r], 100 * r);
    EXPECT_EQ(all.i64()[2 * r + 1], 100 * r + 7);
  }
}

}  // namespace
}  // namespace tigerfg::comm
