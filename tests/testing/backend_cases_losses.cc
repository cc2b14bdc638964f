// tests/testing/backend_cases_losses.cc — harness cases of the loss ops for one rank's rows of
// the global batch (row0 > 0 among them): scaled logits (clamped and not), multi-positive
// InfoNCE with repeated products, SDD and SRD (a student map entry under the log floor).
#include <cmath>
#include <cstring>

#include "ops/losses.h"
#include "ops/normalize.h"
#include "ops/softmax.h"
#include "runtime/core/buffer.h"
#include "tests/testing/backend_cases.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::testing {
namespace {

using ops::OpKind;

constexpr DType kF32 = DType::kF32;

struct LossShape {
  int64_t G, b, row0, E;
};

const LossShape kLossShapes[] = {{4, 4, 0, 8}, {12, 5, 6, 16}, {64, 16, 32, 48}};

std::string Label(const LossShape& s) {
  return "G " + std::to_string(s.G) + " rows [" + std::to_string(s.row0) + ", " +
         std::to_string(s.row0 + s.b) + ") E " + std::to_string(s.E);
}

// product_ids[G]: every third sample shares its product with the next one.
Buffer ProductIds(int64_t G) {
  std::vector<int64_t> ids(G);
  for (int64_t j = 0; j < G; ++j) ids[j] = j % 3 == 1 ? ids[j - 1] : 100 + j;
  return I64Values({G}, ids);
}

// Rows of [n, d] normalised (the towers' embeddings are unit vectors).
CaseTensor Unit(std::string name, int64_t n, int64_t d, Rng& rng) {
  CaseTensor t = In(std::move(name), {n, d}, rng);
  Buffer norm(kF32, {n});
  Buffer x = Clone(t.host);
  ops::L2NormalizeForward(Context::Cpu(), t.host, norm, x);
  return t;
}

void AddLogitsCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1200;
  for (const LossShape& s : kLossShapes) {
    for (bool clamped : {false, true}) {
      Rng rng(++seed);
      const float max_scale = 100.0f;
      const float log_scale = clamped ? std::log(150.0f) : std::log(14.0f);
      const int64_t row0 = s.row0;
      Buffer logit_scale(kF32, {1}), scale(kF32, {1});
      logit_scale.f32()[0] = log_scale;
      scale.f32()[0] = std::min(std::exp(log_scale), max_scale);
      const std::string label = Label(s) + (clamped ? " clamped" : "");
      cases.push_back({OpKind::kScaledLogitsForward,
                       label,
                       {},
                       Tensors(Out("row_logits", {s.b, s.G}),
                               clamped ? Absent("col_logits") : Out("col_logits", {s.b, s.G}),
                               Out("scale", {1}), Unit("q", s.G, s.E, rng),
                               Unit("e", s.G, s.E, rng), Given("logit_scale", Clone(logit_scale))),
                       [max_scale, row0](const Context& ctx, const CaseTensors& t) {
                         ops::ScaledLogitsForward(ctx, t[0], t[1], t[2], t[3], t[4], t[5],
                                                  max_scale, row0);
                         return 0.0;
                       }});
      cases.push_back(
          {OpKind::kScaledLogitsBackward,
           label,
           {},
           Tensors(Out("dq", {s.G, s.E}), Out("de", {s.G, s.E}), InOut("dlogit_scale", {1}, rng),
                   In("drow_logits", {s.b, s.G}, rng),
                   clamped ? Absent("dcol_logits") : In("dcol_logits", {s.b, s.G}, rng),
                   Unit("q", s.G, s.E, rng), Unit("e", s.G, s.E, rng),
                   Given("logit_scale", std::move(logit_scale)), Given("scale", std::move(scale))),
           [max_scale, row0](const Context& ctx, const CaseTensors& t) {
             ops::ScaledLogitsBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8],
                                       max_scale, row0);
             return 0.0;
           }});
    }
  }
}

void AddNceCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1300;
  for (const LossShape& s : kLossShapes) {
    Rng rng(++seed);
    const int64_t row0 = s.row0;
    cases.push_back({OpKind::kMultiPositiveNceForward,
                     Label(s),
                     {},
                     Tensors(Out("loss", {1}), In("logits", {s.b, s.G}, rng, kF32, 5.0f),
                             Given("product_ids", ProductIds(s.G))),
                     [row0](const Context& ctx, const CaseTensors& t) {
                       ops::MultiPositiveNceForward(ctx, t[0], t[1], t[2], row0);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kMultiPositiveNceBackward,
                     Label(s),
                     {},
                     Tensors(Out("dlogits", {s.b, s.G}), In("logits", {s.b, s.G}, rng, kF32, 5.0f),
                             Given("product_ids", ProductIds(s.G))),
                     [row0](const Context& ctx, const CaseTensors& t) {
                       ops::MultiPositiveNceBackward(ctx, t[0], 0.7f, t[1], t[2], row0);
                       return 0.0;
                     }});
  }
}

void AddDistillationCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1400;
  for (const LossShape& s : kLossShapes) {
    Rng rng(++seed);
    const int64_t N = s.G / 2 + 1;  // patches per item
    cases.push_back(
        {OpKind::kSddLossForward,
         Label(s),
         {},
         Tensors(Out("loss", {1}), Out("p_teacher", {s.b, s.G}),
                 In("student_logits", {s.b, s.G}, rng, kF32, 4.0f),
                 Unit("teacher_q", s.b, s.E, rng), Unit("teacher_items", s.G, s.E, rng)),
         [](const Context& ctx, const CaseTensors& t) {
           ops::SddLossForward(ctx, t[0], t[1], t[2], t[3], t[4], 0.05f);
           return 0.0;
         }});
    Buffer p_teacher(kF32, {s.b, s.G});
    ops::SoftmaxForward(Context::Cpu(), p_teacher, RandomBuffer({s.b, s.G}, rng, 3.0f));
    cases.push_back({OpKind::kSddLossBackward,
                     Label(s),
                     {},
                     Tensors(InOut("dstudent_logits", {s.b, s.G}, rng),
                             Given("p_teacher", std::move(p_teacher)),
                             In("student_logits", {s.b, s.G}, rng, kF32, 4.0f)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::SddLossBackward(ctx, t[0], 1.3f, t[1], t[2]);
                       return 0.0;
                     }});
    // amap: a distribution per row with its first entry under the 1e-8 floor.
    Buffer amap(kF32, {s.b, N});
    ops::SoftmaxForward(Context::Cpu(), amap, RandomBuffer({s.b, N}, rng, 2.0f));
    amap.f32()[0] = 1e-9f;
    cases.push_back(
        {OpKind::kSrdLossForward,
         Label(s) + " N " + std::to_string(N),
         {},
         Tensors(Out("loss", {1}), Out("teacher_map", {s.b, N}), Given("amap", Clone(amap)),
                 In("teacher_patches", {s.b, N, s.E}, rng, kF32, 0.3f),
                 Unit("teacher_q", s.b, s.E, rng)),
         [](const Context& ctx, const CaseTensors& t) {
           ops::SrdLossForward(ctx, t[0], t[1], t[2], t[3], t[4], 0.1f);
           return 0.0;
         }});
    // A mask target: zeros outside a box, rows summing to 1 (the first entry zeroed).
    Buffer target(kF32, {s.b, N});
    ops::SoftmaxForward(Context::Cpu(), target, RandomBuffer({s.b, N}, rng, 2.0f));
    for (int64_t i = 0; i < s.b; ++i) {
      const float dropped = target.f32()[i * N];
      target.f32()[i * N] = 0.0f;
      target.f32()[i * N + N - 1] += dropped;
    }
    cases.push_back({OpKind::kSrdTargetLossForward,
                     Label(s) + " N " + std::to_string(N),
                     {},
                     Tensors(Out("loss", {1}), Given("target_map", std::move(target)),
                             Given("amap", Clone(amap))),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::SrdTargetLossForward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
    Buffer teacher_map(kF32, {s.b, N});
    ops::SoftmaxForward(Context::Cpu(), teacher_map, RandomBuffer({s.b, N}, rng, 2.0f));
    cases.push_back({OpKind::kSrdLossBackward,
                     Label(s) + " N " + std::to_string(N),
                     {},
                     Tensors(Out("damap", {s.b, N}), Given("teacher_map", std::move(teacher_map)),
                             Given("amap", std::move(amap))),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::SrdLossBackward(ctx, t[0], 0.9f, t[1], t[2]);
                       return 0.0;
                     }});
  }
}

// A [1] loss value.
Buffer Scalar(float value) {
  Buffer b(kF32, {1});
  b.f32()[0] = value;
  return b;
}

// terms64 [8]: four doubles' bits (total, contrastive, srd, sdd).
Buffer Terms64(double total, double contrastive, double srd, double sdd) {
  Buffer b(kF32, {ops::kLossTerm64Slots});
  const double d[4] = {total, contrastive, srd, sdd};
  std::memcpy(b.data(), d, sizeof(d));
  return b;
}

// The step's loss terms combined on the device: a new step with every term, one without SRD and
// SDD, and a chunk's SRD added onto earlier terms. terms64 is an input here (its halves are no
// floats to compare): the case's value is its total after the update, which must match exactly.
void AddLossTermsCases(std::vector<OpCase>& cases) {
  struct TermsCase {
    const char* label;
    bool contrastive, srd, sdd;
    double share;
  };
  const TermsCase kCases[] = {{"new step, SRD and SDD", true, true, true, 1.0},
                              {"new step, contrastive only", true, false, false, 1.0},
                              {"a chunk's SRD", false, true, false, 0.25}};
  for (const TermsCase& k : kCases) {
    ops::LossTermWeights w = {0.7f, 1.3f, 0.45f, k.share};
    auto loss = [](bool given, const char* name, float value) {
      return given ? Given(name, Scalar(value)) : Absent(name);
    };
    OpCase c{
        OpKind::kLossTermsUpdate,
        k.label,
        {},
        Tensors(Out("terms", {ops::kLossTermSlots}), Given("terms64", Terms64(3.1, 2.2, 0.6, 0.4)),
                loss(k.contrastive, "loss_row", 2.718f), loss(k.contrastive, "loss_col", 3.14f),
                loss(k.srd, "loss_srd", 0.577f), loss(k.sdd, "loss_sdd", 1.618f)),
        [w](const Context& ctx, const CaseTensors& t) {
          ops::LossTermsUpdate(ctx, t[0], t[1], t[2], t[3], t[4], t[5], w);
          const Buffer terms64 = ToHost(ctx, t[1]);
          double total = 0;
          std::memcpy(&total, terms64.data(), sizeof(total));
          return total;
        }};
    c.value_rtol = 0;
    cases.push_back(std::move(c));
  }
}

}  // namespace

void AddLossCases(std::vector<OpCase>& cases) {
  AddLogitsCases(cases);
  AddNceCases(cases);
  AddDistillationCases(cases);
  AddLossTermsCases(cases);
}

}  // namespace tigerfg::testing
