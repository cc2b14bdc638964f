// tests/testing/backend_cases_dense.cc — harness cases of the GEMM ops (Linear, the fused MLP
// pair, the patch embedding's Im2Col), Cast and the optimizer ops, at several shapes, F32 and BF16.
#include <cmath>
#include <cstring>

#include "ops/cast.h"
#include "ops/linear.h"
#include "ops/optim.h"
#include "ops/patch_embed.h"
#include "tests/testing/backend_cases.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg::testing {
namespace {

using ops::OpKind;

constexpr DType kF32 = DType::kF32, kBF16 = DType::kBF16;

struct LinearShape {
  Shape x;  // [..., I]
  int64_t out_features;
  bool bias;
};

const LinearShape kLinearShapes[] = {
    {Shape({5, 7}), 3, true}, {Shape({2, 3, 16}), 24, false}, {Shape({64, 48}), 96, true}};

Shape WithLast(const Shape& s, int64_t last) {
  std::vector<int64_t> dims = s.dims();
  dims.back() = last;
  return Shape(dims);
}

void AddLinearCases(std::vector<OpCase>& cases) {
  uint64_t seed = 100;
  for (const LinearShape& ls : kLinearShapes) {
    const int64_t I = ls.x.dims().back(), O = ls.out_features;
    const Shape y = WithLast(ls.x, O);
    for (DType dt : {kF32, kBF16}) {
      Rng rng(++seed);
      const std::string label = Describe(ls.x, dt) + " -> " + std::to_string(O);
      cases.push_back({OpKind::kLinearForward,
                       label,
                       {dt},
                       Tensors(Out("out", y, dt), In("x", ls.x, rng, dt), In("w", {O, I}, rng, dt),
                               ls.bias ? In("bias", {O}, rng) : Absent("bias")),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::LinearForward(ctx, t[0], t[1], t[2], t[3]);
                         return 0.0;
                       }});
      cases.push_back(
          {OpKind::kLinearForwardAdd,
           label,
           {dt},
           Tensors(Out("out", y), In("x", ls.x, rng, dt), In("w", {O, I}, rng, dt),
                   ls.bias ? In("bias", {O}, rng) : Absent("bias"), In("residual", y, rng)),
           [](const Context& ctx, const CaseTensors& t) {
             ops::LinearForwardAdd(ctx, t[0], t[1], t[2], t[3], t[4]);
             return 0.0;
           }});
      cases.push_back(
          {OpKind::kLinearBackward,
           label,
           {dt},
           Tensors(Out("dx", ls.x, dt), InOut("dw", {O, I}, rng),
                   ls.bias ? InOut("dbias", {O}, rng) : Absent("dbias"), In("dout", y, rng, dt),
                   In("x", ls.x, rng, dt), In("w", {O, I}, rng, dt)),
           [](const Context& ctx, const CaseTensors& t) {
             ops::LinearBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5]);
             return 0.0;
           }});
    }
  }
  // The weight-only backward (the patch embedding's: no dx, no w).
  Rng rng(++seed);
  cases.push_back({OpKind::kLinearBackward,
                   "[12, 20] -> 8, no dx",
                   {},
                   Tensors(Absent("dx"), InOut("dw", {8, 20}, rng), InOut("dbias", {8}, rng),
                           In("dout", {12, 8}, rng), In("x", {12, 20}, rng), Absent("w")),
                   [](const Context& ctx, const CaseTensors& t) {
                     ops::LinearBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5]);
                     return 0.0;
                   }});
}

// The fused MLP pair at shapes cuBLASLt's epilogues take (columns a multiple of 8) and one they
// do not (the separate passes), with and without the bias gradients.
void AddFusedMlpCases(std::vector<OpCase>& cases) {
  uint64_t seed = 150;
  for (const LinearShape& ls :
       {LinearShape{Shape({64, 48}), 96, true}, LinearShape{Shape({2, 9, 32}), 64, false},
        LinearShape{Shape({5, 7}), 3, true}}) {
    const int64_t I = ls.x.dims().back(), O = ls.out_features;
    const Shape y = WithLast(ls.x, O);
    for (DType dt : {kF32, kBF16}) {
      Rng rng(++seed);
      const std::string label = Describe(ls.x, dt) + " -> " + std::to_string(O);
      cases.push_back({OpKind::kLinearBiasGeluForward,
                       label,
                       {dt},
                       Tensors(Out("out", y, dt), Out("pre", y, dt), In("x", ls.x, rng, dt),
                               In("w", {O, I}, rng, dt), In("bias", {O}, rng)),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::LinearBiasGeluForward(ctx, t[0], t[1], t[2], t[3], t[4]);
                         return 0.0;
                       }});
      // fc2's backward: x = gelu(pre) is [N, I], dout [N, O]; with_bias picks both bias
      // gradients or neither. CUDA's DGELU_BGRAD sums dpre before its bf16 rounding, the CPU
      // after: dpre_bias agrees to the bf16 tolerance.
      CaseTensor dpre_bias = ls.bias ? InOut("dpre_bias", {I}, rng) : Absent("dpre_bias");
      dpre_bias.rtol = 1e-2;
      cases.push_back({OpKind::kLinearBackwardGelu,
                       label + (ls.bias ? ", bias gradients" : ", no bias gradients"),
                       {dt},
                       Tensors(Out("dpre", ls.x, dt), InOut("dw", {O, I}, rng),
                               ls.bias ? InOut("dbias", {O}, rng) : Absent("dbias"),
                               std::move(dpre_bias), In("dout", y, rng, dt), In("x", ls.x, rng, dt),
                               In("w", {O, I}, rng, dt), In("pre", ls.x, rng, dt)),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::LinearBackwardGelu(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6],
                                                 t[7]);
                         return 0.0;
                       }});
    }
  }
}

void AddIm2ColCases(std::vector<OpCase>& cases) {
  struct Im2ColShape {
    int64_t B, C, H, W;
    int p;
  };
  uint64_t seed = 200;
  for (const Im2ColShape& s :
       {Im2ColShape{2, 3, 8, 12, 4}, Im2ColShape{1, 1, 4, 4, 2}, Im2ColShape{3, 2, 9, 6, 3}}) {
    Rng rng(++seed);
    const int64_t P = (s.H / s.p) * (s.W / s.p), K = s.C * s.p * s.p;
    const int patch = s.p;
    cases.push_back({OpKind::kIm2Col,
                     Describe({s.B, s.C, s.H, s.W}) + " patch " + std::to_string(s.p),
                     {},
                     Tensors(Out("cols", {s.B, P, K}), In("img", {s.B, s.C, s.H, s.W}, rng)),
                     [patch](const Context& ctx, const CaseTensors& t) {
                       ops::Im2Col(ctx, t[0], t[1], patch);
                       return 0.0;
                     }});
  }
}

void AddCastCases(std::vector<OpCase>& cases) {
  uint64_t seed = 300;
  for (int64_t n : {int64_t{1}, int64_t{1001}, int64_t{4096}}) {
    for (DType from : {kF32, kBF16}) {
      for (DType to : {kF32, kBF16}) {
        Rng rng(++seed);
        cases.push_back({OpKind::kCast,
                         Describe({n}, from) + " -> " + DTypeName(to),
                         {from},
                         Tensors(Out("out", {n}, to), In("in", {n}, rng, from, 3.0f)),
                         [](const Context& ctx, const CaseTensors& t) {
                           ops::Cast(ctx, t[0], t[1]);
                           return 0.0;
                         }});
      }
    }
  }
}

// A double's bits in an I64 [1] buffer (SumOfSquaresInto's result).
Buffer DoubleBits(double value) {
  int64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return I64Values({1}, {bits});
}

// Three tensors with gaps between and after them (decay, no decay, decay; the middle one spans
// several chunks), with the clip factor from a device-side Σg² (clipping or not) or given.
void AddMultiTensorAdamWCases(std::vector<OpCase>& cases, uint64_t& seed) {
  const int64_t n = 40200;
  const Buffer table = ops::MakeAdamWTable({{0, 5, true}, {8, 40000, false}, {40100, 7, true}});
  const std::vector<int64_t> rows(table.i64(), table.i64() + table.numel());
  for (double sumsq : {-1.0, 4.0, 0.25}) {  // -1: no grad_sumsq
    Rng rng(++seed);
    Buffer v = RandomBuffer({n}, rng, 0.1f);
    for (int64_t i = 0; i < n; ++i) v.f32()[i] = std::abs(v.f32()[i]);
    ops::AdamWHyper h;
    h.lr = 1e-3f;
    h.weight_decay = 0.05f;
    h.step = 3;
    h.grad_scale = 0.5f;
    h.clip_grad_norm = 1.0f;
    cases.push_back(
        {OpKind::kAdamWMultiUpdate,
         Describe({n}) + " 3 tensors, sumsq " + std::to_string(sumsq),
         {},
         Tensors(InOut("params", {n}, rng), InOut("m", {n}, rng),
                 Given("v", std::move(v), Role::kInOut),
                 sumsq < 0 ? Absent("params16") : InOut("params16", {n}, rng, kBF16),
                 In("grads", {n}, rng), Given("table", I64Values(table.shape(), rows)),
                 sumsq < 0 ? Absent("grad_sumsq") : Given("grad_sumsq", DoubleBits(sumsq))),
         [h](const Context& ctx, const CaseTensors& t) {
           ops::AdamWMultiUpdate(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], h);
           return 0.0;
         }});
  }
}

void AddOptimizerCases(std::vector<OpCase>& cases) {
  uint64_t seed = 400;
  for (int64_t n : {int64_t{7}, int64_t{5000}, int64_t{70000}}) {
    Rng rng(++seed);
    // v is a second moment: non-negative.
    Buffer v = RandomBuffer({n}, rng, 0.1f);
    for (int64_t i = 0; i < n; ++i) v.f32()[i] = std::abs(v.f32()[i]);
    ops::AdamWHyper h;
    h.lr = 1e-3f;
    h.weight_decay = 0.05f;
    h.step = 3;
    h.grad_scale = 0.5f;
    cases.push_back({OpKind::kAdamWUpdate,
                     Describe({n}),
                     {},
                     Tensors(InOut("params", {n}, rng), InOut("m", {n}, rng),
                             Given("v", std::move(v), Role::kInOut), In("grads", {n}, rng)),
                     [h](const Context& ctx, const CaseTensors& t) {
                       ops::AdamWUpdate(ctx, t[0], t[1], t[2], t[3], h);
                       return 0.0;
                     }});
  }
  AddMultiTensorAdamWCases(cases, seed);
  // Sizes under the CPU's parallel threshold (16384): its OpenMP reduction adds the threads'
  // partial sums in arrival order, which is not bit-reproducible.
  for (int64_t n : {int64_t{1}, int64_t{333}, int64_t{16384}}) {
    Rng rng(++seed);
    cases.push_back(
        {OpKind::kSumOfSquares,
         Describe({n}),
         {},
         Tensors(In("x", {n}, rng)),
         [](const Context& ctx, const CaseTensors& t) { return ops::SumOfSquares(ctx, t[0]); },
         1e-9});
    Rng rng_into(seed);
    cases.push_back({OpKind::kSumOfSquaresInto,
                     Describe({n}),
                     {},
                     Tensors(Scratch("out", {2}), In("x", {n}, rng_into)),  // 8 bytes
                     [](const Context& ctx, const CaseTensors& t) {
                       const Tensor out(t[0].data(), DType::kI64, Shape{1},
                                        t[0].device());  // a double
                       ops::SumOfSquaresInto(ctx, out, t[1]);
                       return ops::SumOfSquaresValue(ctx, out);
                     },
                     1e-9});
  }
}

}  // namespace

void AddDenseCases(std::vector<OpCase>& cases) {
  AddLinearCases(cases);
  AddFusedMlpCases(cases);
  AddIm2ColCases(cases);
  AddCastCases(cases);
  AddOptimizerCases(cases);
}

}  // namespace tigerfg::testing
