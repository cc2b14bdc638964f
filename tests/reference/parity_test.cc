// tests/reference/parity_test.cc — the C++ model against the PyTorch spec (float64): loss terms,
// embeddings and every parameter gradient for one batch, over several configurations (teacher or
// not, grounding or the baseline, other widths and head counts, loss weights, SRD towards the
// mask teacher), with padded titles and shared product ids. FP32 to the foundation's tolerances;
// the BF16 mode (bf16 transformer blocks, staged through fp32 on the CPU) to issue #5's: losses
// 1e-2, gradients 5e-2 relative.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include "comm/local_communicator.h"
#include "configs/config.h"
#include "model/tigerfg_model.h"
#include "runtime/core/safetensors.h"
#include "runtime/train/step_runner.h"
#include "tests/model/spec_runner.h"

namespace tigerfg::model {
namespace {

constexpr int64_t kBatch = 8;

double Norm(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return std::sqrt(s);
}

// max |a - b| / max |b|.
double MaxRelDiff(const float* a, const float* b, int64_t n) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(ref, 1e-30);
}

// Relative tolerances of one precision mode (and the attention kernel: the precision's when empty).
struct Tolerances {
  config::Precision precision;
  double loss, output, grad;
  std::optional<AttentionKernel> attention = std::nullopt;
};
constexpr Tolerances kFp32{config::FP32, 1e-5, 1e-5, 1e-4};
constexpr Tolerances kBf16{config::BF16, 1e-2, 2e-2, 5e-2};
// train.attention: FLASH in FP32 (the CPU's fused twin) meets the FP32 bounds.
constexpr Tolerances kFp32Flash{config::FP32, 1e-5, 1e-5, 1e-4, AttentionKernel::kFlash};

void ExpectMatchesSpec(const std::string& overrides, int seed, const Tolerances& tol = kFp32) {
  const config::ModelConfig cfg = testing::TinyModel(overrides);
  testing::ScratchDir dir("parity");
  testing::SpecCase spec;
  testing::RunSpecCase(testing::kSpecPython, cfg, kBatch, seed, dir, &spec);
  if (::testing::Test::HasFatalFailure()) return;
  TensorFile* g = &spec.grads;

  TigerFGModel model(cfg, kBatch, Context::Cpu(), /*world_size=*/1, tol.precision,
                     /*recompute_blocks=*/false, tol.attention);
  const ParamTable& table = model.table();
  spec.CopyParams(table, model.params());
  if (::testing::Test::HasFatalFailure()) return;
  Batch batch = spec.TakeBatch();
  const Status valid = ValidateBatch(cfg, batch);
  ASSERT_TRUE(valid.ok()) << valid.message();
  // The spec's batch must exercise padding and shared product ids.
  EXPECT_GT(std::count(batch.title_ids.i64(), batch.title_ids.i64() + batch.title_ids.numel(), 0),
            0);
  std::set<int64_t> products(batch.product_ids.i64(), batch.product_ids.i64() + kBatch);
  EXPECT_LT(products.size(), static_cast<size_t>(kBatch));

  comm::LocalCommunicator comm;
  train::StepRunner runner(model, &comm);
  const LossTerms terms = runner.Run(batch)->local;

  auto ref_loss = [&](const std::string& name) { return g->tensors.at("loss/" + name).f32()[0]; };
  auto expect_loss = [&](const std::string& name, double value) {
    const double ref = ref_loss(name);
    EXPECT_LE(std::fabs(value - ref), tol.loss * std::fabs(ref))
        << name << " " << value << " vs " << ref;
  };
  expect_loss("total", terms.total);
  expect_loss("contrastive", terms.contrastive);
  EXPECT_EQ(terms.has_srd, g->Has("loss/srd"));
  EXPECT_EQ(terms.has_sdd, g->Has("loss/sdd"));
  if (g->Has("loss/srd")) expect_loss("srd", terms.srd);
  if (g->Has("loss/sdd")) expect_loss("sdd", terms.sdd);

  auto expect_output = [&](const std::string& name, const Tensor& ours) {
    ASSERT_TRUE(g->Has("out/" + name));
    const Buffer& ref = g->tensors.at("out/" + name);
    ASSERT_EQ(ref.numel(), ours.numel()) << name;
    const double err = MaxRelDiff(ours.f32(), ref.f32(), ref.numel());
    EXPECT_LE(err, tol.output) << "out/" << name;
  };
  expect_output("query_emb", model.query_emb());
  expect_output("item_emb", model.item_emb());
  EXPECT_EQ(g->Has("out/ground_map"), terms.has_srd);
  if (terms.has_srd) expect_output("ground_map", model.ground_map());

  std::set<std::string> trainable;
  double worst = 0;
  std::string worst_name;
  for (const ParamSpec& p : table.params()) {
    if (!p.trainable) continue;
    trainable.insert(p.name);
    const float* ours = model.grads() + p.offset;
    const std::string key = "grad/" + p.name;
    if (!g->Has(key)) {
      EXPECT_EQ(Norm(ours, p.numel()), 0.0) << p.name << " has no spec gradient but ours is not 0";
      continue;
    }
    const Buffer& ref = g->tensors.at(key);
    ASSERT_EQ(ref.numel(), p.numel()) << p.name;
    std::vector<float> diff(p.numel());
    for (int64_t i = 0; i < p.numel(); ++i) diff[i] = ours[i] - ref.f32()[i];
    const double err = Norm(diff.data(), p.numel());
    const double ref_norm = Norm(ref.f32(), p.numel());
    EXPECT_LE(err, tol.grad * ref_norm + 1e-7)
        << p.name << ": |g - g_ref| " << err << ", |g_ref| " << ref_norm;
    if (err / (ref_norm + 1e-30) > worst) {
      worst = err / (ref_norm + 1e-30);
      worst_name = p.name;
    }
  }
  for (const auto& [name, t] : g->tensors) {
    if (name.rfind("grad/", 0) == 0) EXPECT_TRUE(trainable.count(name.substr(5))) << name;
  }
  std::cout << "[parity] " << (tol.precision == config::BF16 ? "BF16 " : "")
            << (tol.attention ? std::string(AttentionKernelName(*tol.attention)) + " " : "")
            << (overrides.empty() ? "tiny" : overrides) << ": total " << terms.total
            << ", worst gradient " << worst_name << " rel " << worst << "\n";
}

TEST(Parity, TinyWithTeacher) { ExpectMatchesSpec("", 0); }

TEST(Parity, TinyWithoutTeacher) { ExpectMatchesSpec("model.teacher=none", 1); }

TEST(Parity, BaselineWithoutGrounding) { ExpectMatchesSpec("model.ground_layers=0", 2); }

TEST(Parity, OtherWidthsAndHeads) {
  ExpectMatchesSpec(
      "model.query.width=48,model.query.heads=3,model.text.heads=2,model.ground_heads=2,"
      "model.embed_dim=24",
      3);
}

TEST(Parity, OneGroundingLayerAndLossWeights) {
  ExpectMatchesSpec("model.ground_layers=1,model.w_contrastive=0.7,model.w_srd=2,model.w_sdd=0.5",
                    4);
}

// srd_target MASK: SRD towards the batch's product-box maps (the spec draws random boxes, half
// flipped), SDD from the teacher; and without a teacher (SRD alone).
TEST(Parity, MaskSrdTargetWithTeacher) { ExpectMatchesSpec("model.srd_target=MASK", 5); }

TEST(Parity, MaskSrdTargetWithoutTeacher) {
  ExpectMatchesSpec("model.srd_target=MASK,model.teacher=none,model.w_srd=1.5", 6);
}

// train.attention: FLASH in FP32, with the teacher and with other head widths.
TEST(Parity, FlashAttentionInFp32) { ExpectMatchesSpec("", 0, kFp32Flash); }

TEST(Parity, FlashAttentionInFp32OtherWidthsAndHeads) {
  ExpectMatchesSpec(
      "model.query.width=48,model.query.heads=3,model.text.heads=2,model.ground_heads=2,"
      "model.embed_dim=24",
      3, kFp32Flash);
}

// The BF16 mode: the same configurations' spec gradients, to bf16 tolerances.
TEST(ParityBf16, TinyWithTeacher) { ExpectMatchesSpec("", 0, kBf16); }

TEST(ParityBf16, OtherWidthsAndHeads) {
  ExpectMatchesSpec(
      "model.query.width=48,model.query.heads=3,model.text.heads=2,model.ground_heads=2,"
      "model.embed_dim=24",
      3, kBf16);
}

TEST(ParityBf16, OneGroundingLayerAndLossWeights) {
  ExpectMatchesSpec("model.ground_layers=1,model.w_contrastive=0.7,model.w_srd=2,model.w_sdd=0.5",
                    4, kBf16);
}

TEST(ParityBf16, MaskSrdTargetWithoutTeacher) {
  ExpectMatchesSpec("model.srd_target=MASK,model.teacher=none", 6, kBf16);
}

}  // namespace
}  // namespace tigerfg::model
