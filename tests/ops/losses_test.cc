// tests/ops/losses_test.cc — TIGER-FG loss terms: forwards against double-precision references of
// the spec's formulas, backwards by central differences, and the distributed split (ranks of b
// rows of a global batch G) against the single-rank loss.
#include "ops/losses.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

using testing::Dot;
using testing::ExpectGradientsMatch;
using testing::RandomBuffer;

Buffer Ids(const std::vector<int64_t>& values) {
  Buffer ids(DType::kI64, Shape({static_cast<int64_t>(values.size())}));
  std::copy(values.begin(), values.end(), ids.i64());
  return ids;
}

Buffer Scalar(float value) {
  Buffer s = Buffer::Zeros({1});
  s.f32()[0] = value;
  return s;
}

double LogSumExp(const std::vector<double>& x) {
  double m = -INFINITY, sum = 0;
  for (double v : x) m = std::max(m, v);
  for (double v : x) sum += std::exp(v - m);
  return m + std::log(sum);
}

// The spec's multi_positive_nce over logits[rows, G] (row i is global sample row0 + i).
double ReferenceNce(const std::vector<std::vector<double>>& logits, const int64_t* ids,
                    int64_t row0) {
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    std::vector<double> pos;
    for (size_t j = 0; j < logits[i].size(); ++j) {
      if (ids[j] == ids[row0 + i]) pos.push_back(logits[i][j]);
    }
    total += LogSumExp(logits[i]) - LogSumExp(pos);
  }
  return total / logits.size();
}

std::vector<std::vector<double>> Rows(const Tensor& t) {
  std::vector<std::vector<double>> rows(t.dim(0), std::vector<double>(t.dim(1)));
  for (int64_t i = 0; i < t.dim(0); ++i) {
    for (int64_t j = 0; j < t.dim(1); ++j) rows[i][j] = t.f32()[i * t.dim(1) + j];
  }
  return rows;
}

std::vector<double> Softmax(const std::vector<double>& x) {
  const double lse = LogSumExp(x);
  std::vector<double> p(x.size());
  for (size_t j = 0; j < x.size(); ++j) p[j] = std::exp(x[j] - lse);
  return p;
}

// kl_rows for one row: Σ_j p (log max(p, 1e-30) - log_q).
double KlRow(const std::vector<double>& p, const std::vector<double>& log_q) {
  double kl = 0;
  for (size_t j = 0; j < p.size(); ++j) kl += p[j] * (std::log(std::max(p[j], 1e-30)) - log_q[j]);
  return kl;
}

TEST(MultiPositiveNce, ForwardAndGradientWithDuplicateIds) {
  Rng rng(/*seed=*/31);
  constexpr int64_t kLocal = 3, kGlobal = 6, kRow0 = 2;
  Buffer ids = Ids({7, 3, 7, 1, 3, 7});  // rows 2 and 4 have two other positives / one other
  Buffer logits = RandomBuffer({kLocal, kGlobal}, rng, 2.0f);
  Buffer loss = Buffer::Zeros({1});
  ops::MultiPositiveNceForward(Context::Cpu(), loss, logits, ids, kRow0);
  EXPECT_NEAR(loss.f32()[0], ReferenceNce(Rows(logits), ids.i64(), kRow0), 1e-5);

  constexpr float kDloss = 0.7f;
  Buffer dlogits = Buffer::Zeros(logits.shape());
  ops::MultiPositiveNceBackward(Context::Cpu(), dlogits, kDloss, logits, ids, kRow0);
  auto objective = [&] {
    Buffer l = Buffer::Zeros({1});
    ops::MultiPositiveNceForward(Context::Cpu(), l, logits, ids, kRow0);
    return kDloss * static_cast<double>(l.f32()[0]);
  };
  ExpectGradientsMatch(objective, {logits}, {dlogits}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

// loss = row_logits · w_row + col_logits · w_col, for local rows [2, 5) of G = 6.
void CheckScaledLogitsGradient(float logit_scale_value, bool clamped) {
  Rng rng(/*seed=*/32);
  constexpr int64_t kLocal = 3, kGlobal = 6, kDim = 4, kRow0 = 2;
  constexpr float kMaxScale = 20.0f;
  ASSERT_EQ(std::exp(logit_scale_value) > kMaxScale, clamped);
  Buffer q = RandomBuffer({kGlobal, kDim}, rng, 0.5f);
  Buffer e = RandomBuffer({kGlobal, kDim}, rng, 0.5f);
  Buffer logit_scale = Scalar(logit_scale_value);
  Buffer w_row = RandomBuffer({kLocal, kGlobal}, rng);
  Buffer w_col = RandomBuffer({kLocal, kGlobal}, rng);
  Buffer row = Buffer::Zeros({kLocal, kGlobal}), col = Buffer::Zeros({kLocal, kGlobal});
  Buffer scale = Buffer::Zeros({1});
  ops::ScaledLogitsForward(Context::Cpu(), row, col, scale, q, e, logit_scale, kMaxScale, kRow0);
  const double s = std::min<double>(std::exp(logit_scale_value), kMaxScale);
  EXPECT_NEAR(scale.f32()[0], s, 1e-5 * s);
  for (int64_t i = 0; i < kLocal; ++i) {
    for (int64_t j = 0; j < kGlobal; ++j) {
      double qe = 0, eq = 0;
      for (int64_t c = 0; c < kDim; ++c) {
        qe += static_cast<double>(q.f32()[(kRow0 + i) * kDim + c]) * e.f32()[j * kDim + c];
        eq += static_cast<double>(e.f32()[(kRow0 + i) * kDim + c]) * q.f32()[j * kDim + c];
      }
      EXPECT_NEAR(row.f32()[i * kGlobal + j], s * qe, 1e-5 * s);
      EXPECT_NEAR(col.f32()[i * kGlobal + j], s * eq, 1e-5 * s);
    }
  }
  Buffer dq = Buffer::Zeros(q.shape()), de = Buffer::Zeros(e.shape());
  constexpr float kPrior = 0.25f;  // dlogit_scale accumulates
  Buffer dlogit_scale = Scalar(kPrior);
  ops::ScaledLogitsBackward(Context::Cpu(), dq, de, dlogit_scale, w_row, w_col, q, e, logit_scale,
                            scale, kMaxScale, kRow0);
  if (clamped) EXPECT_EQ(dlogit_scale.f32()[0], kPrior);
  dlogit_scale.f32()[0] -= kPrior;
  auto objective = [&] {
    Buffer r = Buffer::Zeros({kLocal, kGlobal}), c = Buffer::Zeros({kLocal, kGlobal});
    Buffer sc = Buffer::Zeros({1});
    ops::ScaledLogitsForward(Context::Cpu(), r, c, sc, q, e, logit_scale, kMaxScale, kRow0);
    return Dot(r, w_row) + Dot(c, w_col);
  };
  ExpectGradientsMatch(objective, {q, e, logit_scale}, {dq, de, dlogit_scale}, /*step=*/1e-2,
                       /*tolerance=*/2e-3);
}

TEST(ScaledLogits, GradientWithScaleBelowClamp) {
  CheckScaledLogitsGradient(std::log(5.0f), false);
}
TEST(ScaledLogits, GradientWithClampActive) { CheckScaledLogitsGradient(std::log(60.0f), true); }

TEST(SddLoss, ForwardAndAccumulatedGradient) {
  Rng rng(/*seed=*/33);
  constexpr int64_t kLocal = 3, kGlobal = 5, kTeacherDim = 4;
  constexpr float kTau = 0.5f, kDloss = 1.3f;
  Buffer student = RandomBuffer({kLocal, kGlobal}, rng, 2.0f);
  Buffer teacher_q = RandomBuffer({kLocal, kTeacherDim}, rng);
  Buffer teacher_items = RandomBuffer({kGlobal, kTeacherDim}, rng);
  Buffer loss = Buffer::Zeros({1}), p_teacher = Buffer::Zeros({kLocal, kGlobal});
  ops::SddLossForward(Context::Cpu(), loss, p_teacher, student, teacher_q, teacher_items, kTau);
  double expected = 0;
  const auto student_rows = Rows(student);
  for (int64_t i = 0; i < kLocal; ++i) {
    std::vector<double> t(kGlobal);
    for (int64_t j = 0; j < kGlobal; ++j) {
      for (int64_t c = 0; c < kTeacherDim; ++c) {
        t[j] += static_cast<double>(teacher_q.f32()[i * kTeacherDim + c]) *
                teacher_items.f32()[j * kTeacherDim + c] / kTau;
      }
    }
    const auto p = Softmax(t);
    for (int64_t j = 0; j < kGlobal; ++j) {
      EXPECT_NEAR(p_teacher.f32()[i * kGlobal + j], p[j], 1e-6);
    }
    std::vector<double> log_s(kGlobal);
    const double lse = LogSumExp(student_rows[i]);
    for (int64_t j = 0; j < kGlobal; ++j) log_s[j] = student_rows[i][j] - lse;
    expected += KlRow(p, log_s) / kLocal;
  }
  EXPECT_NEAR(loss.f32()[0], expected, 1e-5);

  Buffer prior = RandomBuffer({kLocal, kGlobal}, rng);
  Buffer dstudent = RandomBuffer({kLocal, kGlobal}, rng);
  std::copy(dstudent.f32(), dstudent.f32() + dstudent.numel(), prior.f32());
  ops::SddLossBackward(Context::Cpu(), dstudent, kDloss, p_teacher, student);
  for (int64_t k = 0; k < dstudent.numel(); ++k) dstudent.f32()[k] -= prior.f32()[k];
  auto objective = [&] {
    Buffer l = Buffer::Zeros({1}), p = Buffer::Zeros({kLocal, kGlobal});
    ops::SddLossForward(Context::Cpu(), l, p, student, teacher_q, teacher_items, kTau);
    return kDloss * static_cast<double>(l.f32()[0]);
  };
  ExpectGradientsMatch(objective, {student}, {dstudent}, /*step=*/1e-2, /*tolerance=*/1e-3);
}

struct SrdCase {
  static constexpr int64_t kLocal = 2, kPatches = 5, kTeacherDim = 3;
  static constexpr float kTauMap = 0.3f;
  Buffer amap, teacher_patches, teacher_q;
  explicit SrdCase(Rng& rng)
      : amap(Buffer::Zeros({kLocal, kPatches})),
        teacher_patches(RandomBuffer({kLocal, kPatches, kTeacherDim}, rng)),
        teacher_q(RandomBuffer({kLocal, kTeacherDim}, rng)) {
    rng.FillUniform(amap, 0.05f, 1.0f);
  }
  double Loss(Tensor teacher_map) const {
    Buffer l = Buffer::Zeros({1});
    ops::SrdLossForward(Context::Cpu(), l, teacher_map, amap, teacher_patches, teacher_q, kTauMap);
    return l.f32()[0];
  }
  double Reference() const {
    double total = 0;
    for (int64_t i = 0; i < kLocal; ++i) {
      std::vector<double> s(kPatches), log_a(kPatches);
      for (int64_t n = 0; n < kPatches; ++n) {
        for (int64_t c = 0; c < kTeacherDim; ++c) {
          s[n] += static_cast<double>(teacher_patches.f32()[(i * kPatches + n) * kTeacherDim + c]) *
                  teacher_q.f32()[i * kTeacherDim + c] / kTauMap;
        }
        log_a[n] = std::log(std::max<double>(amap.f32()[i * kPatches + n], 1e-8));
      }
      total += KlRow(Softmax(s), log_a) / kLocal;
    }
    return total;
  }
};

TEST(SrdLoss, ForwardAndGradient) {
  Rng rng(/*seed=*/34);
  SrdCase c(rng);
  Buffer map = Buffer::Zeros({SrdCase::kLocal, SrdCase::kPatches});
  EXPECT_NEAR(c.Loss(map), c.Reference(), 1e-5);
  constexpr float kDloss = 0.8f;
  Buffer damap = Buffer::Zeros(c.amap.shape());
  ops::SrdLossBackward(Context::Cpu(), damap, kDloss, map, c.amap);
  auto objective = [&] {
    Buffer m = Buffer::Zeros({SrdCase::kLocal, SrdCase::kPatches});
    return kDloss * c.Loss(m);
  };
  ExpectGradientsMatch(objective, {c.amap}, {damap}, /*step=*/1e-3, /*tolerance=*/2e-3);
}

TEST(SrdLoss, MapEntriesBelowTheLogFloorGetNoGradient) {
  Rng rng(/*seed=*/35);
  SrdCase c(rng);
  constexpr int64_t kFloored = 3;
  c.amap.f32()[kFloored] = 1e-10f;
  Buffer map = Buffer::Zeros({SrdCase::kLocal, SrdCase::kPatches});
  const double loss = c.Loss(map);
  EXPECT_NEAR(loss, c.Reference(), 1e-5);
  c.amap.f32()[kFloored] = 5e-9f;  // still below the floor: the loss does not move
  EXPECT_EQ(c.Loss(map), loss);
  Buffer damap = Buffer::Zeros(c.amap.shape());
  ops::SrdLossBackward(Context::Cpu(), damap, 1.0f, map, c.amap);
  EXPECT_EQ(damap.f32()[kFloored], 0.0f);
  for (int64_t k = 0; k < damap.numel(); ++k) {
    if (k != kFloored) EXPECT_LT(damap.f32()[k], 0.0f) << k;
  }
}

// ---- SRD towards a given target map (model.srd_target MASK): KL(target || amap) per row, a zero
// target entry contributes nothing; the gradient is SrdLossBackward's with the target.
TEST(SrdTargetLoss, ForwardAndGradient) {
  Rng rng(/*seed=*/36);
  constexpr int64_t kRows = 2, kPatches = 5;
  Buffer amap = Buffer::Zeros({kRows, kPatches});
  rng.FillUniform(amap, 0.05f, 1.0f);
  // Box-like targets: zeros outside, rows summing to 1.
  Buffer target = Buffer::Zeros({kRows, kPatches});
  const float rows[kRows][kPatches] = {{0.0f, 0.25f, 0.75f, 0.0f, 0.0f},
                                       {0.1f, 0.2f, 0.3f, 0.4f, 0.0f}};
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t n = 0; n < kPatches; ++n) target.f32()[i * kPatches + n] = rows[i][n];
  auto loss = [&] {
    Buffer l = Buffer::Zeros({1});
    ops::SrdTargetLossForward(Context::Cpu(), l, target, amap);
    return static_cast<double>(l.f32()[0]);
  };
  double reference = 0;
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t n = 0; n < kPatches; ++n) {
      const double t = rows[i][n];
      if (t > 0) reference += t * (std::log(t) - std::log(amap.f32()[i * kPatches + n])) / kRows;
    }
  }
  EXPECT_NEAR(loss(), reference, 1e-6);
  constexpr float kDloss = 0.7f;
  Buffer damap = Buffer::Zeros(amap.shape());
  ops::SrdLossBackward(Context::Cpu(), damap, kDloss, target, amap);
  EXPECT_EQ(damap.f32()[0], 0.0f);  // zero target: no gradient
  ExpectGradientsMatch([&] { return kDloss * loss(); }, {amap}, {damap}, /*step=*/1e-3,
                       /*tolerance=*/2e-3);
}

// The target equal to the map: KL 0.
TEST(SrdTargetLoss, ZeroWhenTheMapIsTheTarget) {
  Buffer map = Buffer::Zeros({1, 4});
  const float values[4] = {0.5f, 0.5f, 0.0f, 0.0f};
  std::copy_n(values, 4, map.f32());
  Buffer l = Buffer::Zeros({1});
  ops::SrdTargetLossForward(Context::Cpu(), l, map, map);
  EXPECT_NEAR(l.f32()[0], 0.0, 1e-7);
}

// ---- the distributed split: contrastive + SDD over local rows [row0, row0 + b) of G.
constexpr int64_t kG = 6, kE = 5, kEt = 4;
constexpr float kMaxScale = 100.0f, kTauTeacher = 0.5f;

struct Batch {
  Buffer q, e, logit_scale, ids, teacher_q, teacher_items;
  explicit Batch(Rng& rng)
      : q(RandomBuffer({kG, kE}, rng, 0.4f)),
        e(RandomBuffer({kG, kE}, rng, 0.4f)),
        logit_scale(Scalar(std::log(8.0f))),
        ids(Ids({4, 9, 4, 2, 9, 5})),
        teacher_q(RandomBuffer({kG, kEt}, rng)),
        teacher_items(RandomBuffer({kG, kEt}, rng)) {}
};

struct RankResult {
  double loss = 0;
  Buffer dq = Buffer::Zeros({kG, kE}), de = Buffer::Zeros({kG, kE}), dlogit_scale = Scalar(0);
};

// One rank's loss 0.5 (NCE(row) + NCE(col)) + SDD(row) and its gradients (dloss = 1).
RankResult RunRank(const Batch& x, int64_t row0, int64_t b) {
  const Context ctx = Context::Cpu();
  Buffer row = Buffer::Zeros({b, kG}), col = Buffer::Zeros({b, kG}), scale = Buffer::Zeros({1});
  ops::ScaledLogitsForward(ctx, row, col, scale, x.q, x.e, x.logit_scale, kMaxScale, row0);
  Buffer nce_row = Buffer::Zeros({1}), nce_col = Buffer::Zeros({1}), sdd = Buffer::Zeros({1});
  Buffer p_teacher = Buffer::Zeros({b, kG});
  ops::MultiPositiveNceForward(ctx, nce_row, row, x.ids, row0);
  ops::MultiPositiveNceForward(ctx, nce_col, col, x.ids, row0);
  ops::SddLossForward(ctx, sdd, p_teacher, row, x.teacher_q.tensor().Slice(row0, row0 + b),
                      x.teacher_items, kTauTeacher);
  RankResult r;
  r.loss = 0.5 * (nce_row.f32()[0] + nce_col.f32()[0]) + sdd.f32()[0];
  Buffer drow = Buffer::Zeros({b, kG}), dcol = Buffer::Zeros({b, kG});
  ops::MultiPositiveNceBackward(ctx, drow, 0.5f, row, x.ids, row0);
  ops::MultiPositiveNceBackward(ctx, dcol, 0.5f, col, x.ids, row0);
  ops::SddLossBackward(ctx, drow, 1.0f, p_teacher, row);
  ops::ScaledLogitsBackward(ctx, r.dq, r.de, r.dlogit_scale, drow, dcol, x.q, x.e, x.logit_scale,
                            scale, kMaxScale, row0);
  return r;
}

TEST(DistributedLoss, SingleRankMatchesSpecAndGradients) {
  Rng rng(/*seed=*/36);
  Batch x(rng);
  const RankResult single = RunRank(x, 0, kG);
  // The spec: logits = s q e^T; 0.5 (nce(logits, pos) + nce(logits^T, pos^T)) + kl_rows(p_t, ...).
  const double s = 8.0;
  std::vector<std::vector<double>> logits(kG, std::vector<double>(kG)), logits_t = logits;
  for (int64_t i = 0; i < kG; ++i) {
    for (int64_t j = 0; j < kG; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < kE; ++c) dot += double{x.q.f32()[i * kE + c]} * x.e.f32()[j * kE + c];
      logits[i][j] = logits_t[j][i] = s * dot;
    }
  }
  double expected =
      0.5 * (ReferenceNce(logits, x.ids.i64(), 0) + ReferenceNce(logits_t, x.ids.i64(), 0));
  for (int64_t i = 0; i < kG; ++i) {
    std::vector<double> t(kG), log_s(kG);
    const double lse = LogSumExp(logits[i]);
    for (int64_t j = 0; j < kG; ++j) {
      for (int64_t c = 0; c < kEt; ++c) {
        t[j] += double{x.teacher_q.f32()[i * kEt + c]} * x.teacher_items.f32()[j * kEt + c];
      }
      t[j] /= kTauTeacher;
      log_s[j] = logits[i][j] - lse;
    }
    expected += KlRow(Softmax(t), log_s) / kG;
  }
  EXPECT_NEAR(single.loss, expected, 1e-5 * std::max(1.0, expected));
  auto objective = [&] { return RunRank(x, 0, kG).loss; };
  ExpectGradientsMatch(objective, {x.q, x.e, x.logit_scale},
                       {single.dq, single.de, single.dlogit_scale}, /*step=*/1e-2,
                       /*tolerance=*/3e-3);
}

TEST(DistributedLoss, RanksAverageToTheSingleRankLoss) {
  Rng rng(/*seed=*/37);
  Batch x(rng);
  constexpr int64_t kRanks = 3, kLocal = kG / kRanks;
  const RankResult single = RunRank(x, 0, kG);
  // Each rank's loss is the mean over its b rows, so the global loss is the mean over ranks and
  // d global / d x = (1 / W) Σ_r d loss_r / d x: the rank gradients sum to W times the global one.
  double mean_loss = 0;
  std::vector<double> dq(kG * kE), de(kG * kE);
  double dlogit_scale = 0;
  for (int64_t r = 0; r < kRanks; ++r) {
    const RankResult rank = RunRank(x, r * kLocal, kLocal);
    mean_loss += rank.loss / kRanks;
    for (int64_t k = 0; k < kG * kE; ++k) {
      dq[k] += rank.dq.f32()[k];
      de[k] += rank.de.f32()[k];
    }
    dlogit_scale += rank.dlogit_scale.f32()[0];
  }
  EXPECT_NEAR(mean_loss, single.loss, 1e-5 * std::max(1.0, single.loss));
  for (int64_t k = 0; k < kG * kE; ++k) {
    EXPECT_NEAR(dq[k], kRanks * single.dq.f32()[k], 1e-5) << "dq " << k;
    EXPECT_NEAR(de[k], kRanks * single.de.f32()[k], 1e-5) << "de " << k;
  }
  EXPECT_NEAR(dlogit_scale, kRanks * single.dlogit_scale.f32()[0], 1e-5);
}

}  // namespace
}  // namespace tigerfg
