// tests/testing/backend_cases_tensor.cc — harness cases of the glue ops (zero, add, copy, CLS
// and position handling, token slices, column concatenation), the embedding lookup and the input
// images' normalisation.
#include "ops/embedding.h"
#include "ops/images.h"
#include "ops/tensor_ops.h"
#include "tests/testing/backend_cases.h"

namespace tigerfg::testing {
namespace {

using ops::OpKind;

constexpr DType kF32 = DType::kF32, kBF16 = DType::kBF16;

struct TokenShape {
  int64_t B, S, D;
};

const TokenShape kTokenShapes[] = {{1, 1, 1}, {2, 5, 8}, {4, 50, 96}};

void AddElementwiseCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1500;
  for (const Shape& shape : {Shape({1}), Shape({3, 7}), Shape({4, 33, 129})}) {
    for (DType dt : {kF32, kBF16}) {
      Rng rng(++seed);
      cases.push_back({OpKind::kZero,
                       Describe(shape, dt),
                       {dt},
                       Tensors(Out("t", shape, dt)),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::Zero(ctx, t[0]);
                         return 0.0;
                       }});
      cases.push_back({OpKind::kCopy,
                       Describe(shape, dt),
                       {dt},
                       Tensors(Out("dst", shape, dt), In("src", shape, rng, dt)),
                       [](const Context& ctx, const CaseTensors& t) {
                         ops::Copy(ctx, t[0], t[1]);
                         return 0.0;
                       }});
    }
    Rng rng(++seed);
    cases.push_back({OpKind::kAddInPlace,
                     Describe(shape),
                     {},
                     Tensors(InOut("y", shape, rng), In("x", shape, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::AddInPlace(ctx, t[0], t[1]);
                       return 0.0;
                     }});
  }
}

void AddTokenCases(std::vector<OpCase>& cases) {
  uint64_t seed = 1600;
  for (const TokenShape& s : kTokenShapes) {
    Rng rng(++seed);
    const int64_t B = s.B, P = s.S, D = s.D;
    const std::string label = Describe({B, P, D});
    cases.push_back({OpKind::kTokenPrependForward,
                     label,
                     {},
                     Tensors(Out("out", {B, 1 + P, D}), In("patches", {B, P, D}, rng),
                             In("cls", {D}, rng), In("pos", {1 + P, D}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::TokenPrependForward(ctx, t[0], t[1], t[2], t[3]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kTokenPrependBackward,
                     label,
                     {},
                     Tensors(Out("dpatches", {B, P, D}), InOut("dcls", {D}, rng),
                             InOut("dpos", {1 + P, D}, rng), In("dout", {B, 1 + P, D}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::TokenPrependBackward(ctx, t[0], t[1], t[2], t[3]);
                       return 0.0;
                     }});
    // pos has more rows than the sequence uses (the text encoder's pos_embed[:, :L]).
    cases.push_back({OpKind::kAddPositionForward,
                     label,
                     {},
                     Tensors(InOut("x", {B, P, D}, rng), In("pos", {P + 3, D}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::AddPositionForward(ctx, t[0], t[1]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kAddPositionBackward,
                     label,
                     {},
                     Tensors(InOut("dpos", {P + 3, D}, rng), In("dx", {B, P, D}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::AddPositionBackward(ctx, t[0], t[1]);
                       return 0.0;
                     }});
    for (int64_t begin : {int64_t{0}, P / 2}) {
      const int64_t n = P - begin;
      const std::string slice =
          label + " tokens [" + std::to_string(begin) + ", " + std::to_string(P) + ")";
      cases.push_back({OpKind::kTokenSliceForward,
                       slice,
                       {},
                       Tensors(Out("out", {B, n, D}), In("x", {B, P, D}, rng)),
                       [begin](const Context& ctx, const CaseTensors& t) {
                         ops::TokenSliceForward(ctx, t[0], t[1], begin);
                         return 0.0;
                       }});
      cases.push_back({OpKind::kTokenSliceBackward,
                       slice,
                       {},
                       Tensors(InOut("dx", {B, P, D}, rng), In("dout", {B, n, D}, rng)),
                       [begin](const Context& ctx, const CaseTensors& t) {
                         ops::TokenSliceBackward(ctx, t[0], t[1], begin);
                         return 0.0;
                       }});
    }
    const int64_t N = B * P, A = D, C = D / 2 + 1;
    cases.push_back({OpKind::kConcatColumnsForward,
                     Describe({N, A}) + " + " + Describe({N, C}),
                     {},
                     Tensors(Out("out", {N, A + C}), In("a", {N, A}, rng), In("b", {N, C}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::ConcatColumnsForward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kConcatColumnsBackward,
                     Describe({N, A}) + " + " + Describe({N, C}),
                     {},
                     Tensors(Out("da", {N, A}), Out("db", {N, C}), In("dout", {N, A + C}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::ConcatColumnsBackward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
  }
}

void AddEmbeddingCases(std::vector<OpCase>& cases) {
  struct EmbeddingShape {
    int64_t B, L, V, D;
  };
  uint64_t seed = 1700;
  for (const EmbeddingShape& s :
       {EmbeddingShape{1, 1, 3, 4}, EmbeddingShape{2, 7, 10, 16}, EmbeddingShape{8, 40, 50, 64}}) {
    Rng rng(++seed);
    // Ids repeat (the backward's scatter-add must sum them).
    std::vector<int64_t> ids(s.B * s.L);
    for (int64_t t = 0; t < s.B * s.L; ++t) ids[t] = rng.Int(0, s.V);
    const std::string label = Describe({s.B, s.L}) + " vocab " + std::to_string(s.V);
    cases.push_back({OpKind::kEmbeddingForward,
                     label,
                     {},
                     Tensors(Out("out", {s.B, s.L, s.D}), Given("ids", I64Values({s.B, s.L}, ids)),
                             In("table", {s.V, s.D}, rng)),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::EmbeddingForward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
    cases.push_back({OpKind::kEmbeddingBackward,
                     label,
                     {},
                     Tensors(InOut("dtable", {s.V, s.D}, rng), In("dout", {s.B, s.L, s.D}, rng),
                             Given("ids", I64Values({s.B, s.L}, ids))),
                     [](const Context& ctx, const CaseTensors& t) {
                       ops::EmbeddingBackward(ctx, t[0], t[1], t[2]);
                       return 0.0;
                     }});
  }
}

// uint8 pixels (all 256 values appear in the larger shapes) to floats; odd planes take the
// scalar kernel, planes of a multiple of 4 the vector one. Exact on every backend.
void AddNormalizeImagesCases(std::vector<OpCase>& cases) {
  struct ImageShape {
    int64_t B, C, H, W;
  };
  uint64_t seed = 900;
  for (const ImageShape& s : {ImageShape{1, 1, 1, 1}, ImageShape{2, 3, 5, 7},
                              ImageShape{3, 3, 16, 16}, ImageShape{2, 4, 32, 24}}) {
    Rng rng(++seed);
    std::vector<uint8_t> pixels(static_cast<size_t>(s.B * s.C * s.H * s.W));
    for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng.Int(0, 256));
    std::vector<float> mean, std;
    for (int64_t c = 0; c < s.C; ++c) {
      mean.push_back(0.4f + 0.05f * static_cast<float>(c));
      std.push_back(0.2f + 0.03f * static_cast<float>(c));
    }
    const ImageNorm norm = MakeImageNorm(mean, std);
    const Shape shape{s.B, s.C, s.H, s.W};
    cases.push_back(
        {OpKind::kNormalizeImages,
         Describe(shape, DType::kU8),
         {},
         Tensors(Out("out", shape, kF32, /*rtol=*/1e-7), Given("in", U8Values(shape, pixels))),
         [norm](const Context& ctx, const CaseTensors& t) {
           ops::NormalizeImages(ctx, t[0], t[1], norm);
           return 0.0;
         }});
  }
}

}  // namespace

void AddTensorCases(std::vector<OpCase>& cases) {
  AddElementwiseCases(cases);
  AddTokenCases(cases);
  AddEmbeddingCases(cases);
  AddNormalizeImagesCases(cases);
}

}  // namespace tigerfg::testing
