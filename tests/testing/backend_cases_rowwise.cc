// tests/testing/backend_cases_rowwise.cc — harness cases of the rowwise ops (LayerNorm, GELU,
// L2 normalisation, softmax, log-softmax) at several shapes, F32 and BF16 where they take it.
// Saved statistics (mean, rstd, norm, out) come from a CPU forward, as in training.
#include <iterator>
#include <vector>

#include "ops/gelu.h"
#include "ops/layernorm.h"
#include "ops/normalize.h"
#include "ops/softmax.h"
#include "tests/testing/backend_cases.h"

namespace tigerfg::testing {
namespace {

using ops::OpKind;

constexpr DType kF32 = DType::kF32, kBF16 = DType::kBF16;
constexpr float kEps = 1e-6f;

const Shape kRowShapes[] = {Shape({3, 7, 24}), Shape({5, 1}), Shape({9, 300})};

// The rows of shape [..., C]: the shape without its last dimension.
Shape RowsOf(const Shape& s) {
  std::vector<int64_t> dims = s.dims();
  dims.pop_back();
  return Shape(dims);
}

// LayerNorm's own extra shapes for the CUDA warp-per-row path (ops/cuda/layernorm.cu): more rows
// than its 2048 warps (a warp takes several), the model's width, and a row wider than it takes.
const Shape kLayerNormExtraShapes[] = {Shape({4200, 40}), Shape({16, 768}), Shape({3, 1100})};

void AddLayerNormCases(std::vector<OpCase>& cases) {
  uint64_t seed = 500;
  std::vector<Shape> shapes(std::begin(kRowShapes), std::end(kRowShapes));
  shapes.insert(shapes.end(), std::begin(kLayerNormExtraShapes), std::end(kLayerNormExtraShapes));
  for (const Shape& shape : shapes) {
    const int64_t C = shape.dims().back();
    for (DType dt : {kF32, kBF16}) {
      Rng rng(++seed);
      const std::string label = Describe(shape, dt);
      cases.push_back({OpKind::kLayerNormForward,
                       label,
                       {dt},
                       Tensors(Out("out", shape, dt), Out("mean", RowsOf(shape)),
                               Out("rstd", RowsOf(shape)), In("x", shape, rng, kF32, 2.0f, 0.5f),
                               In("gamma", {C}, rng), In("beta", {C}, rng)),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::LayerNormForward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], kEps);
                         return 0.0;
                       }});
      CaseTensor x = In("x", shape, rng, kF32, 2.0f, 0.5f), gamma = In("gamma", {C}, rng);
      Buffer mean(kF32, RowsOf(shape)), rstd(kF32, RowsOf(shape)), y(kF32, shape);
      ops::LayerNormForward(Context::Cpu(), y, mean, rstd, x.host, gamma.host, Buffer::Zeros({C}),
                            kEps);
      for (bool accumulate : {false, true}) {
        cases.push_back({OpKind::kLayerNormBackward,
                         label + (accumulate ? " dx +=" : ""),
                         {dt},
                         Tensors(accumulate ? InOut("dx", shape, rng, dt) : Out("dx", shape, dt),
                                 InOut("dgamma", {C}, rng), InOut("dbeta", {C}, rng),
                                 In("dout", shape, rng, dt), Duplicate(x), Duplicate(gamma),
                                 Given("mean", Clone(mean)), Given("rstd", Clone(rstd))),
                         [accumulate](const Context& ctx, const CaseTensors& t) {
                           ops::LayerNormBackward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6],
                                                  t[7], accumulate);
                           return 0.0;
                         }});
      }
    }
  }
}

// LayerNormBackwardWithCopy: the fp32 residual gradient (+= or =) and its bf16 copy, bf16 or fp32
// dout, at widths the CUDA warp path takes and one it does not.
void AddLayerNormCopyCases(std::vector<OpCase>& cases) {
  uint64_t seed = 580;
  for (const Shape& shape : {Shape({3, 7, 24}), Shape({16, 768}), Shape({3, 1100})}) {
    const int64_t C = shape.dims().back();
    for (DType dt : {kBF16, kF32}) {
      Rng rng(++seed);
      CaseTensor x = In("x", shape, rng, kF32, 2.0f, 0.5f), gamma = In("gamma", {C}, rng);
      Buffer mean(kF32, RowsOf(shape)), rstd(kF32, RowsOf(shape)), y(kF32, shape);
      ops::LayerNormForward(Context::Cpu(), y, mean, rstd, x.host, gamma.host, Buffer::Zeros({C}),
                            kEps);
      const bool accumulate = dt == kBF16;
      cases.push_back(
          {OpKind::kLayerNormBackwardWithCopy,
           Describe(shape, dt) + (accumulate ? " dx +=" : ""),
           {dt},
           Tensors(accumulate ? InOut("dx", shape, rng) : Out("dx", shape),
                   Out("dx16", shape, kBF16), InOut("dgamma", {C}, rng), InOut("dbeta", {C}, rng),
                   In("dout", shape, rng, dt), std::move(x), std::move(gamma),
                   Given("mean", Clone(mean)), Given("rstd", Clone(rstd))),
           [accumulate](const Context& ctx, const CaseTensors& t) {
             ops::LayerNormBackwardWithCopy(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
                                            t[8], accumulate);
             return 0.0;
           }});
    }
  }
}

void AddGeluCases(std::vector<OpCase>& cases) {
  uint64_t seed = 600;
  for (const Shape& shape : {Shape({7}), Shape({3, 1000}), Shape({2, 5, 33})}) {
    for (DType out_type : {kF32, kBF16}) {
      for (DType x_type : {kF32, kBF16}) {
        Rng rng(++seed);
        const std::string label = Describe(shape, x_type) + " -> " + DTypeName(out_type);
        cases.push_back({OpKind::kGeluForward,
                         label,
                         {x_type},
                         Tensors(Out("out", shape, out_type), In("x", shape, rng, x_type, 3.0f)),
                         [](const Context& ctx, const CaseTensors& t) {
                           ops::GeluForward(ctx, t[0], t[1]);
                           return 0.0;
                         }});
        cases.push_back({OpKind::kGeluBackward,
                         label,
                         {x_type},
                         Tensors(Out("dx", shape, out_type), In("dout", shape, rng, out_type),
                                 In("x", shape, rng, x_type, 3.0f)),
                         [](const Context& ctx, const CaseTensors& t) {
                           ops::GeluBackward(ctx, t[0], t[1], t[2]);
                           return 0.0;
                         }});
      }
    }
  }
}

void AddNormalizeCases(std::vector<OpCase>& cases) {
  uint64_t seed = 700;
  for (const Shape& shape : kRowShapes) {
    Rng rng(++seed);
    CaseTensor x = In("x", shape, rng);
    // One row far under the 1e-12 eps clamp.
    const int64_t C = shape.dims().back();
    for (int64_t c = 0; c < C; ++c) x.host.f32()[c] *= 1e-14f;
    Buffer out(kF32, shape), norm(kF32, RowsOf(shape));
    ops::L2NormalizeForward(Context::Cpu(), out, norm, x.host);
    cases.push_back({OpKind::kL2NormalizeForward,
                     Describe(shape),
                     {},
                     Tensors(Out("out", shape), Out("norm", RowsOf(shape)), Duplicate(x)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::L2NormalizeForward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kL2NormalizeBackward,
                     Describe(shape),
                     {},
                     Tensors(Out("dx", shape), In("dout", shape, rng), Given("out", std::move(out)),
                             Given("norm", std::move(norm))),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::L2NormalizeBackward(ctx, t[0], t[1], t[2], t[3]);
                       return 0.0;
                     }});
  }
}

void AddSoftmaxCases(std::vector<OpCase>& cases) {
  uint64_t seed = 800;
  for (const Shape& shape : kRowShapes) {
    for (bool log : {false, true}) {
      Rng rng(++seed);
      const auto forward = log ? ops::LogSoftmaxForward : ops::SoftmaxForward;
      const auto backward = log ? ops::LogSoftmaxBackward : ops::SoftmaxBackward;
      Buffer out(kF32, shape);
      CaseTensor x = In("x", shape, rng, kF32, 4.0f);
      forward(Context::Cpu(), out, x.host);
      cases.push_back({log ? OpKind::kLogSoftmaxForward : OpKind::kSoftmaxForward,
                       Describe(shape),
                       {},
                       Tensors(Out("out", shape), std::move(x)),
                       [forward](const Context& ctx, const CaseTensors& t) {
                         forward(ctx, t[0], t[1]);
                         return 0.0;
                       }});
      cases.push_back(
          {log ? OpKind::kLogSoftmaxBackward : OpKind::kSoftmaxBackward,
           Describe(shape),
           {},
           Tensors(Out("dx", shape), In("dout", shape, rng), Given("out", std::move(out))),
           [backward](const Context& ctx, const CaseTensors& t) {
             backward(ctx, t[0], t[1], t[2]);
             return 0.0;
           }});
    }
  }
}

}  // namespace

void AddRowwiseCases(std::vector<OpCase>& cases) {
  AddLayerNormCases(cases);
  AddLayerNormCopyCases(cases);
  AddGeluCases(cases);
  AddNormalizeCases(cases);
  AddSoftmaxCases(cases);
}

}  // namespace tigerfg::testing
