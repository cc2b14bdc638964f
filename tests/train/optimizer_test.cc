// tests/train/optimizer_test.cc — AdamW against torch.optim.AdamW, the schedule, and clipping.
#include "runtime/train/optimizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "ops/optim.h"
#include "runtime/core/bf16.h"
#include "runtime/core/rng.h"
#include "runtime/train/lr_schedule.h"

namespace tigerfg::train {
namespace {

// Packed (alignment 1): the tests below index the flat buffers by element.
ParamTable TwoParamTable(int64_t alignment = 1) {
  ParamTable t(alignment);
  t.Add("fc.weight", Shape{2, 3}, /*trainable=*/true, /*decay=*/true);
  t.Add("fc.bias", Shape{2}, /*trainable=*/true, /*decay=*/false);
  t.Add("teacher.fc.weight", Shape{2}, /*trainable=*/false, /*decay=*/true);
  return t;
}

TEST(LearningRate, WarmsUpLinearlyThenFollowsACosine) {
  config::OptimConfig o;
  o.set_lr(1.0f);
  o.set_warmup_steps(4);
  o.set_min_lr_ratio(0.1f);
  // 13 steps: 4 of warmup, then a cosine over steps 4..12.
  EXPECT_DOUBLE_EQ(LearningRate(o, 0, 13), 0.25);
  EXPECT_DOUBLE_EQ(LearningRate(o, 3, 13), 1.0);
  EXPECT_NEAR(LearningRate(o, 4, 13), 1.0, 1e-12);
  EXPECT_NEAR(LearningRate(o, 8, 13), 0.55, 1e-7);  // half way
  EXPECT_NEAR(LearningRate(o, 12, 13), 0.1, 1e-7);
  EXPECT_GT(LearningRate(o, 9, 13), LearningRate(o, 10, 13));
}

TEST(AdamW, ClipsByTheGlobalNormAndLeavesFrozenParametersAlone) {
  ParamTable t = TwoParamTable();
  config::OptimConfig o;
  o.set_lr(0.1f);
  o.set_clip_grad_norm(1.0f);
  AdamW opt(t, o, 10);
  std::vector<float> params(t.total_numel(), 1.0f), grads(t.trainable_numel(), 3.0f);
  OptimStepInfo info = opt.Step(Context::Cpu(), params.data(), grads.data(), 0);
  EXPECT_NEAR(info.grad_norm, 3.0 * std::sqrt(8.0), 1e-5);
  EXPECT_TRUE(info.clipped);
  EXPECT_EQ(params[8], 1.0f);  // the teacher
  EXPECT_EQ(params[9], 1.0f);
  EXPECT_LT(params[0], 1.0f);
}

// The aligned layout (ParamTable's default): the same updates as the packed one, tensor by tensor,
// and the alignment gaps (zero, as the model keeps them) stay zero.
TEST(AdamW, AlignedLayoutGivesThePackedUpdatesAndLeavesTheGapsZero) {
  const ParamTable packed = TwoParamTable(), aligned = TwoParamTable(kParamAlignment);
  ASSERT_EQ(aligned.Get("fc.bias").offset, kParamAlignment);
  config::OptimConfig o;
  o.set_lr(0.05f);
  o.set_weight_decay(0.1f);
  o.set_clip_grad_norm(0.5f);
  AdamW opt_packed(packed, o, 3), opt_aligned(aligned, o, 3);
  std::vector<float> p_packed(packed.total_numel()), p_aligned(aligned.total_numel(), 0.0f);
  for (int64_t i = 0; i < packed.total_numel(); ++i)
    p_packed[i] = 0.1f * static_cast<float>(i) - 0.3f;
  for (const ParamSpec& p : packed.params()) {
    std::copy_n(p_packed.data() + p.offset, p.numel(),
                p_aligned.data() + aligned.Get(p.name).offset);
  }
  for (int s = 0; s < 3; ++s) {
    std::vector<float> g_packed(packed.trainable_numel()), g_aligned(aligned.trainable_numel(), 0);
    for (int64_t i = 0; i < packed.trainable_numel(); ++i)
      g_packed[i] = 0.2f * ((i * 7 + s) % 5) - 0.4f;
    for (const ParamSpec& p : packed.params()) {
      if (!p.trainable) continue;
      std::copy_n(g_packed.data() + p.offset, p.numel(),
                  g_aligned.data() + aligned.Get(p.name).offset);
    }
    const OptimStepInfo a = opt_packed.Step(Context::Cpu(), p_packed.data(), g_packed.data(), s);
    const OptimStepInfo b = opt_aligned.Step(Context::Cpu(), p_aligned.data(), g_aligned.data(), s);
    EXPECT_EQ(a.grad_norm, b.grad_norm);  // added zeros leave a serial double sum unchanged
    EXPECT_EQ(a.clipped, b.clipped);
  }
  std::vector<bool> in_tensor(aligned.total_numel(), false);
  for (const ParamSpec& p : packed.params()) {
    const int64_t at = aligned.Get(p.name).offset;
    for (int64_t i = 0; i < p.numel(); ++i) {
      EXPECT_EQ(p_aligned[at + i], p_packed[p.offset + i]) << p.name << " element " << i;
      in_tensor[at + i] = true;
    }
  }
  for (int64_t i = 0; i < aligned.total_numel(); ++i) {
    if (!in_tensor[i]) EXPECT_EQ(p_aligned[i], 0.0f) << "gap element " << i;
  }
  for (const Tensor& moment : {opt_aligned.m(), opt_aligned.v()}) {
    for (int64_t i = 0; i < moment.numel(); ++i) {
      if (!in_tensor[i]) EXPECT_EQ(moment.f32()[i], 0.0f) << "moment gap element " << i;
    }
  }
}

// The one-launch update over a table with gaps, a decay/no-decay mix and a frozen suffix equals
// AdamWUpdate run by run with the clip factor computed on the host from the same Σg² (clipping
// and not), writes the bf16 mirror of exactly the updated elements, and touches nothing else.
TEST(AdamWMultiUpdate, EqualsPerTensorUpdatesWithTheHostClipAndLeavesGapsAlone) {
  const Context& ctx = Context::Cpu();
  const int64_t n = 70000, trainable = 60200;  // [60200, n): a frozen teacher
  const std::vector<ops::AdamWTensor> tensors = {
      {0, 5, true}, {8, 40000, false}, {40100, 20000, true}};
  const Buffer table = ops::MakeAdamWTable(tensors);
  for (float grad_stddev : {1.0f, 1e-4f}) {  // clipped, not clipped
    Rng rng(7);
    std::vector<float> p(n), m(n), v(n), g(trainable);
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<float>(rng.Normal());
      m[i] = 0.1f * static_cast<float>(rng.Normal());
      v[i] = std::abs(0.1f * static_cast<float>(rng.Normal()));
    }
    for (float& x : g) x = grad_stddev * static_cast<float>(rng.Normal());
    const std::vector<float> p0 = p;
    std::vector<float> p_ref = p, m_ref = m, v_ref = v;
    std::vector<uint16_t> p16(n, 0x1234);
    ops::AdamWHyper h;
    h.lr = 1e-2f;
    h.weight_decay = 0.1f;
    h.step = 4;
    h.clip_grad_norm = 1.0f;
    Buffer sumsq(DType::kI64, Shape{1});
    const Tensor grads = Tensor::F32(g.data(), Shape{trainable});
    ops::SumOfSquaresInto(ctx, sumsq, grads);
    ops::AdamWMultiUpdate(
        ctx, Tensor::F32(p.data(), Shape{trainable}), Tensor::F32(m.data(), Shape{trainable}),
        Tensor::F32(v.data(), Shape{trainable}), Tensor(p16.data(), DType::kBF16, Shape{trainable}),
        grads, table, sumsq, h);
    // The host clip of the per-run optimizer this op replaces.
    const double norm = std::sqrt(ops::SumOfSquaresValue(ctx, sumsq));
    ops::AdamWHyper per = h;
    per.grad_scale =
        norm > h.clip_grad_norm ? static_cast<float>(h.clip_grad_norm / (norm + 1e-6)) : 1.0f;
    EXPECT_EQ(norm > h.clip_grad_norm, grad_stddev == 1.0f);
    std::vector<bool> covered(n, false);
    for (const ops::AdamWTensor& t : tensors) {
      per.weight_decay = t.decay ? h.weight_decay : 0.0f;
      const auto at = [&](std::vector<float>& b) {
        return Tensor::F32(b.data() + t.offset, Shape{t.numel});
      };
      ops::AdamWUpdate(ctx, at(p_ref), at(m_ref), at(v_ref),
                       Tensor::F32(g.data() + t.offset, Shape{t.numel}), per);
      for (int64_t i = t.offset; i < t.offset + t.numel; ++i) covered[i] = true;
    }
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(p[i], p_ref[i]) << "param " << i;
      ASSERT_EQ(m[i], m_ref[i]) << "m " << i;
      ASSERT_EQ(v[i], v_ref[i]) << "v " << i;
      if (covered[i]) {
        ASSERT_EQ(p16[i], FloatToBF16(p[i])) << "mirror " << i;
      } else {
        ASSERT_EQ(p[i], p0[i]) << "untouched param " << i;
        ASSERT_EQ(p16[i], 0x1234) << "untouched mirror " << i;
      }
    }
  }
}

// A step that failed (hyper.skip nonzero) or whose gradients are not finite changes nothing:
// the gate the step runner uses so that a diverged step never reaches the weights.
TEST(AdamWMultiUpdate, IsANoOpWhenSkippedOrWhenTheGradientsAreNotFinite) {
  const Context& ctx = Context::Cpu();
  const Buffer table = ops::MakeAdamWTable({{0, 6, true}, {6, 2, false}});
  for (int c = 0; c < 3; ++c) {  // NaN gradient, inf gradient, skip flag
    std::vector<float> p = {1, 2, 3, 4, 5, 6, 7, 8}, m(8, 0.5f), v(8, 0.25f), g(8, 0.1f);
    const std::vector<float> p0 = p, m0 = m, v0 = v;
    if (c == 0) g[3] = std::nanf("");
    if (c == 1) g[6] = INFINITY;
    float skip = c == 2 ? 1.0f : 0.0f;
    ops::AdamWHyper h;
    h.lr = 1e-2f;
    h.step = 1;
    h.clip_grad_norm = c == 1 ? 0.0f : 1.0f;  // the gate holds with and without clipping
    h.skip = &skip;
    Buffer sumsq(DType::kI64, Shape{1});
    const Tensor grads = Tensor::F32(g.data(), Shape{8});
    ops::SumOfSquaresInto(ctx, sumsq, grads);
    ops::AdamWMultiUpdate(ctx, Tensor::F32(p.data(), Shape{8}), Tensor::F32(m.data(), Shape{8}),
                          Tensor::F32(v.data(), Shape{8}), Tensor(), grads, table, sumsq, h);
    EXPECT_EQ(p, p0) << "case " << c;
    EXPECT_EQ(m, m0) << "case " << c;
    EXPECT_EQ(v, v0) << "case " << c;
  }
}

// Step with a bf16 mirror: the mirror of the trainable tensors is bf16 of the updated masters
// (what a Cast of the buffer gives); the teacher's mirror and the gaps' are left as they were.
TEST(AdamW, StepWritesTheBf16MirrorOfTheUpdatedTensorsOnly) {
  const ParamTable t = TwoParamTable(kParamAlignment);
  config::OptimConfig o;
  o.set_lr(0.1f);
  o.set_clip_grad_norm(1.0f);
  AdamW opt(t, o, 10), plain(t, o, 10);
  std::vector<float> params(t.total_numel(), 0.0f), grads(t.trainable_numel(), 0.0f);
  for (const ParamSpec& p : t.params()) std::fill_n(params.data() + p.offset, p.numel(), 1.3f);
  for (const ParamSpec& p : t.params())
    if (p.trainable) std::fill_n(grads.data() + p.offset, p.numel(), 3.0f);
  std::vector<float> params_plain = params, grads_plain = grads;
  std::vector<uint16_t> mirror(t.total_numel(), 0x7777);
  opt.Step(Context::Cpu(), params.data(), grads.data(), 0,
           Tensor(mirror.data(), DType::kBF16, Shape{t.total_numel()}));
  plain.Step(Context::Cpu(), params_plain.data(), grads_plain.data(), 0);
  EXPECT_EQ(params, params_plain);
  std::vector<bool> updated(t.total_numel(), false);
  for (const ParamSpec& p : t.params())
    if (p.trainable) std::fill_n(updated.begin() + p.offset, p.numel(), true);
  for (int64_t i = 0; i < t.total_numel(); ++i) {
    EXPECT_EQ(mirror[i], updated[i] ? FloatToBF16(params[i]) : uint16_t{0x7777}) << i;
  }
}

// Three steps of our AdamW and of torch.optim.AdamW (decay on the weight only) agree.
TEST(AdamW, MatchesTorchAdamW) {
  if (std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-torch is not installed";
  ParamTable t = TwoParamTable();
  config::OptimConfig o;
  o.set_lr(0.05f);
  o.set_weight_decay(0.1f);
  o.set_beta1(0.8f);
  o.set_beta2(0.95f);
  o.set_eps(1e-6f);
  AdamW opt(t, o, /*total_steps=*/3);  // no warmup, cosine over 3 steps
  std::vector<float> params = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 0.1f, -0.2f, 7, 7};
  const std::vector<std::vector<float>> grads = {
      {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f},
      {-0.5f, 0.1f, 0.3f, 0.2f, -0.1f, 0.6f, -0.7f, 0.05f},
      {0.3f, -0.3f, 0.2f, -0.2f, 0.1f, -0.1f, 0.4f, -0.4f}};
  for (int s = 0; s < 3; ++s) {
    std::vector<float> g = grads[s];
    opt.Step(Context::Cpu(), params.data(), g.data(), s);
  }
  const std::string out =
      (std::filesystem::temp_directory_path() / ("adamw_" + std::to_string(getpid()))).string();
  std::ostringstream py;
  py << "import torch, math\n"
        "w = torch.nn.Parameter(torch.tensor([[0.5, -1.0, 2.0], [0.25, -0.75, 1.5]]))\n"
        "b = torch.nn.Parameter(torch.tensor([0.1, -0.2]))\n"
        "opt = torch.optim.AdamW([{'params': [w], 'weight_decay': 0.1},"
        " {'params': [b], 'weight_decay': 0.0}], lr=0.05, betas=(0.8, 0.95), eps=1e-6)\n"
        "gs = [[0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8],"
        " [-0.5, 0.1, 0.3, 0.2, -0.1, 0.6, -0.7, 0.05],"
        " [0.3, -0.3, 0.2, -0.2, 0.1, -0.1, 0.4, -0.4]]\n"
        "for s, g in enumerate(gs):\n"
        "    lr = 0.05 * 0.5 * (1 + math.cos(math.pi * s / 2))\n"
        "    for grp in opt.param_groups: grp['lr'] = lr\n"
        "    w.grad = torch.tensor(g[:6]).view(2, 3); b.grad = torch.tensor(g[6:])\n"
        "    opt.step()\n"
        "open('"
     << out
     << "', 'w').write(' '.join('%.9g' % x for x in torch.cat([w.detach().flatten(), "
        "b.detach()]).tolist()))\n";
  const std::string script = out + ".py";
  std::ofstream(script) << py.str();
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script).c_str()), 0);
  std::ifstream in(out);
  for (int i = 0; i < 8; ++i) {
    double ref;
    ASSERT_TRUE(in >> ref);
    EXPECT_NEAR(params[i], ref, 1e-6) << "parameter element " << i;
  }
  std::remove(out.c_str());
  std::remove(script.c_str());
}

}  // namespace
}  // namespace tigerfg::train
