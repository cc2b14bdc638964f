// tests/testing/backend_cases_attention.cc — harness cases of the attention ops: self-attention
// (with key masks, a fully masked sample among them), the fused attention in F32 and BF16 at
// head sizes 12 to 80 (over 64 the CUDA backend declines it), the CUDNN kernel (cuDNN's SDPA on
// CUDA), grounding attention, head mean.
#include <algorithm>

#include "ops/attention.h"
#include "ops/flash_attention.h"
#include "ops/grounding.h"
#include "tests/testing/backend_cases.h"

namespace tigerfg::testing {
namespace {

using ops::OpKind;

constexpr DType kF32 = DType::kF32, kBF16 = DType::kBF16;

struct AttentionShape {
  int64_t B, S, D;
  int heads;
  bool mask;
};

const AttentionShape kSelfShapes[] = {
    {2, 5, 12, 3, false}, {3, 17, 32, 2, true}, {1, 64, 48, 4, true}};
const AttentionShape kFlashShapes[] = {{2, 5, 24, 2, false},
                                       {3, 17, 64, 2, true},
                                       {2, 70, 128, 2, true},
                                       {1, 9, 160, 2, false}};  // head dim 80

// key_valid[B, S]: the first max(S - 2b, 1) keys of sample b are valid, none of sample 1 (its
// query rows get zeros); or an absent mask.
CaseTensor KeyMask(const AttentionShape& s) {
  if (!s.mask) return Absent("key_valid");
  std::vector<uint8_t> v(s.B * s.S);
  for (int64_t b = 0; b < s.B; ++b) {
    const int64_t valid = b == 1 ? 0 : std::max<int64_t>(s.S - 2 * b, 1);
    for (int64_t j = 0; j < s.S; ++j) v[b * s.S + j] = j < valid ? 1 : 0;
  }
  return Given("key_valid", U8Values({s.B, s.S}, v));
}

std::string Label(const AttentionShape& s, DType dt) {
  return Describe({s.B, s.S, 3 * s.D}, dt) + " heads " + std::to_string(s.heads) +
         (s.mask ? " masked" : "");
}

void AddSelfAttentionCases(std::vector<OpCase>& cases) {
  uint64_t seed = 900;
  for (const AttentionShape& s : kSelfShapes) {
    Rng rng(++seed);
    const int heads = s.heads;
    const Shape qkv_shape({s.B, s.S, 3 * s.D}), probs_shape({s.B, s.heads, s.S, s.S});
    CaseTensor qkv = In("qkv", qkv_shape, rng), mask = KeyMask(s);
    Buffer out(kF32, {s.B, s.S, s.D}), probs(kF32, probs_shape);
    ops::SelfAttentionForward(Context::Cpu(), out, probs, qkv.host, mask.host, heads);
    const ops::OpShape shape{kF32, s.D / s.heads};
    cases.push_back({OpKind::kSelfAttentionForward, Label(s, kF32), shape,
                     Tensors(Out("out", {s.B, s.S, s.D}), Out("probs", probs_shape), Duplicate(qkv),
                             std::move(mask)),
                     [heads](const Context& ctx, const CaseTensors& t) {
                       ops::SelfAttentionForward(ctx, t[0], t[1], t[2], t[3], heads);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kSelfAttentionBackward, Label(s, kF32), shape,
                     Tensors(Out("dqkv", qkv_shape), In("dout", {s.B, s.S, s.D}, rng),
                             std::move(qkv), Given("probs", std::move(probs))),
                     [heads](const Context& ctx, const CaseTensors& t) {
                       ops::SelfAttentionBackward(ctx, t[0], t[1], t[2], t[3], heads);
                       return 0.0;
                     }});
  }
}

// The fused attention's inputs of shape `s` and their CPU forward (out, lse): what the forward
// and backward cases of one shape share.
struct FusedAttentionInputs {
  Shape qkv_shape, token_shape, lse_shape, workspace;
  CaseTensor qkv, mask;
  Buffer out, lse;
  ops::OpShape shape;
};
FusedAttentionInputs FusedInputs(const AttentionShape& s, DType dt, Rng& rng) {
  const Shape qkv_shape({s.B, s.S, 3 * s.D}), token_shape({s.B, s.S, s.D});
  const Shape lse_shape({s.B, s.heads, s.S});
  FusedAttentionInputs in{qkv_shape,
                          token_shape,
                          lse_shape,
                          Shape({ops::FlashAttentionWorkspaceNumel(s.B, s.S, s.D, s.heads)}),
                          In("qkv", qkv_shape, rng, dt),
                          KeyMask(s),
                          Buffer(dt, token_shape),
                          Buffer(kF32, lse_shape),
                          ops::OpShape{dt, s.D / s.heads}};
  ops::FlashAttentionForward(Context::Cpu(), in.out, in.lse, in.qkv.host, in.mask.host, s.heads);
  return in;
}

void AddFlashAttentionCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1000;
  for (const AttentionShape& s : kFlashShapes) {
    for (DType dt : {kF32, kBF16}) {
      Rng rng(++seed);
      const int heads = s.heads;
      FusedAttentionInputs in = FusedInputs(s, dt, rng);
      cases.push_back({OpKind::kFlashAttentionForward, Label(s, dt), in.shape,
                       Tensors(Out("out", in.token_shape, dt), Out("lse", in.lse_shape, kF32, 1e-4),
                               Duplicate(in.qkv), Duplicate(in.mask)),
                       [heads](const Context& ctx, const CaseTensors& t) {
                         ops::FlashAttentionForward(ctx, t[0], t[1], t[2], t[3], heads);
                         return 0.0;
                       }});
      CaseTensor dout = In("dout", in.token_shape, rng, dt);
      if (dt == kBF16) {
        // The deterministic dQ (per-key-tile shares summed in order) on the same inputs.
        cases.push_back({OpKind::kFlashAttentionBackward, Label(s, dt) + " deterministic", in.shape,
                         Tensors(Out("dqkv", in.qkv_shape, dt), Scratch("workspace", in.workspace),
                                 Duplicate(dout), Duplicate(in.qkv), Given("out", Clone(in.out)),
                                 Given("lse", Clone(in.lse)), Duplicate(in.mask)),
                         [heads](const Context& ctx, const CaseTensors& t) {
                           ops::SetDeterministicAttention(true);
                           ops::FlashAttentionBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5],
                                                       t[6], heads);
                           ops::SetDeterministicAttention(false);
                           return 0.0;
                         }});
      }
      cases.push_back({OpKind::kFlashAttentionBackward, Label(s, dt), in.shape,
                       Tensors(Out("dqkv", in.qkv_shape, dt), Scratch("workspace", in.workspace),
                               std::move(dout), std::move(in.qkv), Given("out", std::move(in.out)),
                               Given("lse", std::move(in.lse)), std::move(in.mask)),
                       [heads](const Context& ctx, const CaseTensors& t) {
                         ops::FlashAttentionBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6],
                                                     heads);
                         return 0.0;
                       }});
    }
  }
}

// train.attention: CUDNN, BF16: unmasked shapes cuDNN's SDPA takes (head dims 32 and 64, one
// and several 64-token tiles), one whose head dim (12) it does not and a masked one (both the
// fused kernel's on CUDA).
void AddCudnnAttentionCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1050;
  for (const AttentionShape& s :
       {AttentionShape{2, 197, 128, 2, false}, AttentionShape{3, 50, 64, 2, false},
        AttentionShape{2, 5, 24, 2, false}, AttentionShape{3, 17, 64, 2, true}}) {
    Rng rng(++seed);
    const int heads = s.heads;
    FusedAttentionInputs in = FusedInputs(s, kBF16, rng);
    cases.push_back(
        {OpKind::kCudnnAttentionForward, Label(s, kBF16), in.shape,
         Tensors(Out("out", in.token_shape, kBF16), Out("lse", in.lse_shape, kF32, 1e-4),
                 Duplicate(in.qkv), Duplicate(in.mask)),
         [heads](const Context& ctx, const CaseTensors& t) {
           ops::CudnnAttentionForward(ctx, t[0], t[1], t[2], t[3], heads);
           return 0.0;
         }});
    cases.push_back({OpKind::kCudnnAttentionBackward, Label(s, kBF16), in.shape,
                     Tensors(Out("dqkv", in.qkv_shape, kBF16), Scratch("workspace", in.workspace),
                             In("dout", in.token_shape, rng, kBF16), std::move(in.qkv),
                             Given("out", std::move(in.out)), Given("lse", std::move(in.lse)),
                             std::move(in.mask)),
                     [heads](const Context& ctx, const CaseTensors& t) {
                       ops::CudnnAttentionBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6],
                                                   heads);
                       return 0.0;
                     }});
  }
}

void AddGroundingCases(std::vector<OpCase>& cases) {
  struct GroundingShape {
    int64_t B, N, D;
    int heads;
    bool dprobs;
  };
  uint64_t seed = 1100;
  for (const GroundingShape& s :
       {GroundingShape{2, 6, 8, 2, false}, GroundingShape{3, 49, 48, 4, true},
        GroundingShape{1, 1, 16, 1, true}}) {
    Rng rng(++seed);
    const int heads = s.heads;
    const Shape probs_shape({s.B, s.heads, s.N});
    CaseTensor q = In("q", {s.B, s.D}, rng), kv = In("kv", {s.B, s.N, 2 * s.D}, rng);
    Buffer out(kF32, {s.B, s.D}), probs(kF32, probs_shape);
    ops::GroundingAttentionForward(Context::Cpu(), out, probs, q.host, kv.host, heads);
    const std::string label = Describe({s.B, s.N, 2 * s.D}) + " heads " + std::to_string(heads);
    cases.push_back(
        {OpKind::kGroundingAttentionForward,
         label,
         {kF32, s.D / s.heads},
         Tensors(Out("out", {s.B, s.D}), Out("probs", probs_shape), Duplicate(q), Duplicate(kv)),
         [heads](const Context& ctx, const CaseTensors& t) {
           ops::GroundingAttentionForward(ctx, t[0], t[1], t[2], t[3], heads);
           return 0.0;
         }});
    cases.push_back({OpKind::kGroundingAttentionBackward,
                     label,
                     {kF32, s.D / s.heads},
                     Tensors(Out("dq", {s.B, s.D}), Out("dkv", {s.B, s.N, 2 * s.D}),
                             In("dout", {s.B, s.D}, rng),
                             s.dprobs ? In("dprobs", probs_shape, rng) : Absent("dprobs"),
                             std::move(q), std::move(kv), Given("probs", Clone(probs))),
                     [heads](const Context& ctx, const CaseTensors& t) {
                       ops::GroundingAttentionBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5],
                                                       t[6], heads);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kHeadMeanForward,
                     Describe(probs_shape),
                     {},
                     Tensors(Out("amap", {s.B, s.N}), Given("probs", std::move(probs))),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::HeadMeanForward(ctx, t[0], t[1]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kHeadMeanBackward,
                     Describe(probs_shape),
                     {},
                     Tensors(Out("dprobs", probs_shape), In("damap", {s.B, s.N}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::HeadMeanBackward(ctx, t[0], t[1]);
                       return 0.0;
                     }});
  }
}

}  // namespace

void AddAttentionCases(std::vector<OpCase>& cases) {
  AddSelfAttentionCases(cases);
  AddFlashAttentionCases(cases);
  AddCudnnAttentionCases(cases);
  AddGroundingCases(cases);
}

}  // namespace tigerfg::testing
