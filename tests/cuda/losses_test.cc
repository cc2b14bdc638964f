// tests/cuda/losses_test.cc — the four loss families on CUDA against their CPU twins, in the
// distributed form (local rows [row0, row0 + b) of a larger global batch).
#include "ops/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/softmax.h"
#include "tests/cuda/parity.h"

namespace tigerfg {
namespace {

using cuda_testing::Cpu;
using cuda_testing::ExpectMatch;
using cuda_testing::FromValues;
using cuda_testing::Gpu;
using cuda_testing::Output;
using cuda_testing::Random;
using cuda_testing::Same;

constexpr float kMaxScale = 100.0f;

// log_scale_offset > 0 puts exp(logit_scale) above max_scale (the clamp is active).
void ScaledLogitsCase(uint64_t seed, float log_scale_offset, bool with_col) {
  Rng rng(seed);
  const int64_t G = 12, E = 24, b = 5, row0 = 4;
  auto q = Random({G, E}, rng, 0.2f);
  auto e = Random({G, E}, rng, 0.2f);
  Buffer ls(DType::kF32, {1});
  ls.f32()[0] = std::log(kMaxScale) + log_scale_offset;
  auto logit_scale = Same(ls);
  auto row = Output({b, G});
  auto col = Output({b, G});
  auto scale = Output({1});
  const Tensor col_h = with_col ? col.h() : Tensor(), col_d = with_col ? col.d() : Tensor();
  ops::ScaledLogitsForward(Cpu(), row.h(), col_h, scale.h(), q.h(), e.h(), logit_scale.h(),
                           kMaxScale, row0);
  ops::ScaledLogitsForward(Gpu(), row.d(), col_d, scale.d(), q.d(), e.d(), logit_scale.d(),
                           kMaxScale, row0);
  ExpectMatch(scale, "scale");
  ExpectMatch(row, "row_logits");
  if (with_col) ExpectMatch(col, "col_logits");

  auto drow = Random({b, G}, rng);
  auto dcol = Random({b, G}, rng);
  auto dq = Output({G, E});
  auto de = Output({G, E});
  auto dls = Random({1}, rng);  // accumulates
  const Tensor dcol_h = with_col ? dcol.h() : Tensor(), dcol_d = with_col ? dcol.d() : Tensor();
  ops::ScaledLogitsBackward(Cpu(), dq.h(), de.h(), dls.h(), drow.h(), dcol_h, q.h(), e.h(),
                            logit_scale.h(), scale.h(), kMaxScale, row0);
  ops::ScaledLogitsBackward(Gpu(), dq.d(), de.d(), dls.d(), drow.d(), dcol_d, q.d(), e.d(),
                            logit_scale.d(), scale.d(), kMaxScale, row0);
  ExpectMatch(dq, "dq");
  ExpectMatch(de, "de");
  ExpectMatch(dls, "dlogit_scale");
}

TEST(CudaScaledLogitsTest, UnclampedMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  ScaledLogitsCase(4001, -0.7f, true);
}

TEST(CudaScaledLogitsTest, ClampedMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  ScaledLogitsCase(4002, 0.4f, true);
}

TEST(CudaScaledLogitsTest, RowLogitsOnlyMatchesCpu) {
  TIGERFG_REQUIRE_GPU();
  ScaledLogitsCase(4003, -1.3f, false);
}

TEST(CudaMultiPositiveNceTest, DuplicateProductsMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(4101);
  const int64_t G = 12, b = 5, row0 = 3;
  std::vector<int64_t> ids(G);
  for (int64_t j = 0; j < G; ++j) ids[j] = 100 + (j * 5) % 7;  // ids repeat: several positives
  auto product_ids = FromValues(DType::kI64, {G}, ids);
  auto logits = Random({b, G}, rng, 3.0f);
  auto loss = Output({1});
  ops::MultiPositiveNceForward(Cpu(), loss.h(), logits.h(), product_ids.h(), row0);
  ops::MultiPositiveNceForward(Gpu(), loss.d(), logits.d(), product_ids.d(), row0);
  ExpectMatch(loss, "loss");
  auto dlogits = Output({b, G});
  ops::MultiPositiveNceBackward(Cpu(), dlogits.h(), 0.8f, logits.h(), product_ids.h(), row0);
  ops::MultiPositiveNceBackward(Gpu(), dlogits.d(), 0.8f, logits.d(), product_ids.d(), row0);
  ExpectMatch(dlogits, "dlogits");
}

// Rows of unit length (as the normalised teacher embeddings are).
Buffer UnitRows(Shape shape, Rng& rng) {
  Buffer x = testing::RandomBuffer(shape, rng);
  const int64_t E = shape[shape.ndim() - 1];
  for (int64_t r = 0; r < x.numel() / E; ++r) {
    double n = 0;
    for (int64_t c = 0; c < E; ++c) n += x.f32()[r * E + c] * x.f32()[r * E + c];
    for (int64_t c = 0; c < E; ++c) x.f32()[r * E + c] /= static_cast<float>(std::sqrt(n));
  }
  return x;
}

TEST(CudaSddLossTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(4201);
  const int64_t G = 12, b = 5, Et = 16;
  auto teacher_q = Same(UnitRows({b, Et}, rng));
  auto teacher_items = Same(UnitRows({G, Et}, rng));
  auto student = Random({b, G}, rng, 4.0f);
  auto loss = Output({1});
  auto p_teacher = Output({b, G});
  ops::SddLossForward(Cpu(), loss.h(), p_teacher.h(), student.h(), teacher_q.h(), teacher_items.h(),
                      0.1f);
  ops::SddLossForward(Gpu(), loss.d(), p_teacher.d(), student.d(), teacher_q.d(), teacher_items.d(),
                      0.1f);
  ExpectMatch(loss, "loss");
  ExpectMatch(p_teacher, "p_teacher");
  auto dstudent = Random({b, G}, rng);  // accumulates onto the NCE gradient
  ops::SddLossBackward(Cpu(), dstudent.h(), 1.3f, p_teacher.h(), student.h());
  ops::SddLossBackward(Gpu(), dstudent.d(), 1.3f, p_teacher.d(), student.d());
  ExpectMatch(dstudent, "dstudent_logits");
}

TEST(CudaSrdLossTest, ForwardBackwardMatchCpu) {
  TIGERFG_REQUIRE_GPU();
  Rng rng(4301);
  const int64_t b = 5, N = 9, Et = 16;
  auto teacher_q = Same(UnitRows({b, Et}, rng));
  auto teacher_patches = Same(UnitRows({b, N, Et}, rng));
  // The student map is a distribution per row; two entries sit under the 1e-8 log floor.
  Buffer logits = testing::RandomBuffer({b, N}, rng, 2.0f);
  Buffer amap_b(DType::kF32, {b, N});
  ops::SoftmaxForward(Cpu(), amap_b.tensor(), logits.tensor());
  amap_b.f32()[0] = 1e-9f;
  amap_b.f32()[N + 3] = 0.0f;
  auto amap = Same(amap_b);
  auto loss = Output({1});
  auto teacher_map = Output({b, N});
  ops::SrdLossForward(Cpu(), loss.h(), teacher_map.h(), amap.h(), teacher_patches.h(),
                      teacher_q.h(), 0.07f);
  ops::SrdLossForward(Gpu(), loss.d(), teacher_map.d(), amap.d(), teacher_patches.d(),
                      teacher_q.d(), 0.07f);
  ExpectMatch(loss, "loss");
  ExpectMatch(teacher_map, "teacher_map");
  auto damap = Output({b, N});
  ops::SrdLossBackward(Cpu(), damap.h(), 0.6f, teacher_map.h(), amap.h());
  ops::SrdLossBackward(Gpu(), damap.d(), 0.6f, teacher_map.d(), amap.d());
  ExpectMatch(damap, "damap");
}

}  // namespace
}  // namespace tigerfg
