// tests/ops/loss_terms_test.cc — ops::LossTermsUpdate against the host arithmetic it replaced
// (TigerFGModel combined the [1] losses read to the host in double, and the step runner rounded
// them into its packed status): the same doubles and floats, bit for bit, unchunked and chunked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/losses.h"
#include "tests/testing/gradcheck.h"

namespace tigerfg {
namespace {

struct HostTerms {
  double total = 0, contrastive = 0, srd = 0, sdd = 0;
};

// The host code before the terms stayed on the device (model/tigerfg_model.cc), unchanged:
// LossForwardBackward's combination (SRD here only when `srd` is given)...
HostTerms HostLoss(float row, float col, const float* srd, const float* sdd, float w_c, float w_srd,
                   float w_sdd) {
  HostTerms terms;
  terms.contrastive = 0.5 * (static_cast<double>(row) + static_cast<double>(col));
  terms.total = w_c * terms.contrastive;
  if (srd != nullptr) {
    terms.srd = static_cast<double>(*srd);
    terms.total += w_srd * terms.srd;
  }
  if (sdd != nullptr) {
    terms.sdd = static_cast<double>(*sdd);
    terms.total += w_sdd * terms.sdd;
  }
  return terms;
}

// ... and ChunkSrdForwardBackward's accumulation.
void HostChunkSrd(HostTerms* terms, float srd, double share, float w_srd) {
  const double s = share * static_cast<double>(srd);
  terms->srd += s;
  terms->total += w_srd * s;
}

// Packed status slots: terms [5], one slot of padding, terms64 [8].
struct Slots {
  Buffer buffer = Buffer::Zeros({ops::kLossTermSlots + 1 + ops::kLossTerm64Slots});
  Tensor terms() const { return buffer.tensor().Slice(0, ops::kLossTermSlots); }
  Tensor terms64() const { return buffer.tensor().Slice(ops::kLossTermSlots + 1, buffer.numel()); }
  double Term(int k) const {
    double d = 0;
    std::memcpy(&d, terms64().f32() + 2 * k, sizeof(d));
    return d;
  }
};

Buffer Scalar(float value) {
  Buffer s = Buffer::Zeros({1});
  s.f32()[0] = value;
  return s;
}

void ExpectSameBits(const Slots& slots, const HostTerms& want) {
  const double terms[4] = {want.total, want.contrastive, want.srd, want.sdd};
  for (int k = 0; k < 4; ++k) {
    const double got = slots.Term(k);
    EXPECT_EQ(std::memcmp(&got, &terms[k], sizeof(got)), 0)
        << "term " << k << ": " << got << " vs " << terms[k];
    const float rounded = static_cast<float>(terms[k]);  // the packed status's old upload
    EXPECT_EQ(std::memcmp(slots.terms().f32() + k, &rounded, sizeof(float)), 0) << "slot " << k;
  }
  EXPECT_EQ(slots.terms().f32()[4], std::isfinite(want.total) ? 0.0f : 1.0f);
}

TEST(LossTermsUpdate, EqualsTheHostCombinationBitForBit) {
  const Context cpu = Context::Cpu();
  Rng rng(17);
  const Buffer values = testing::RandomBuffer({64}, rng, 2.0f);
  for (int i = 0; i + 4 <= 64; i += 4) {
    const float row = std::abs(values.f32()[i]) + 1, col = std::abs(values.f32()[i + 1]) + 1;
    const float srd = std::abs(values.f32()[i + 2]), sdd = std::abs(values.f32()[i + 3]);
    const float w_c = 1.0f + 0.1f * i, w_srd = 0.3f + 0.05f * i, w_sdd = 0.7f / (i + 1);
    for (int mask = 0; mask < 4; ++mask) {
      const bool with_srd = mask & 1, with_sdd = mask & 2;
      Slots slots;
      const Buffer r = Scalar(row), c = Scalar(col), s = Scalar(srd), d = Scalar(sdd);
      ops::LossTermsUpdate(cpu, slots.terms(), slots.terms64(), r, c, with_srd ? s : Tensor(),
                           with_sdd ? d : Tensor(), {w_c, w_srd, w_sdd});
      ExpectSameBits(slots, HostLoss(row, col, with_srd ? &srd : nullptr, with_sdd ? &sdd : nullptr,
                                     w_c, w_srd, w_sdd));
    }
  }
}

TEST(LossTermsUpdate, ChunkedSrdEqualsTheHostAccumulationBitForBit) {
  const Context cpu = Context::Cpu();
  Rng rng(23);
  const Buffer values = testing::RandomBuffer({8}, rng, 1.0f);
  const float row = 2.3f, col = 1.9f, sdd = 0.41f, w_c = 1.0f, w_srd = 0.8f, w_sdd = 0.35f;
  for (int chunks : {2, 3, 8}) {
    const double share = 1.0 / chunks;
    Slots slots;
    const Buffer r = Scalar(row), c = Scalar(col), d = Scalar(sdd);
    ops::LossTermsUpdate(cpu, slots.terms(), slots.terms64(), r, c, Tensor(), d,
                         {w_c, w_srd, w_sdd});
    HostTerms want = HostLoss(row, col, nullptr, &sdd, w_c, w_srd, w_sdd);
    for (int k = chunks - 1; k >= 0; --k) {
      const float srd = std::abs(values.f32()[k]);
      ops::LossTermsUpdate(cpu, slots.terms(), slots.terms64(), Tensor(), Tensor(), Scalar(srd),
                           Tensor(), {w_c, w_srd, w_sdd, share});
      HostChunkSrd(&want, srd, share, w_srd);
    }
    ExpectSameBits(slots, want);
  }
}

TEST(LossTermsUpdate, FlagsATotalThatIsNotFinite) {
  const Context cpu = Context::Cpu();
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Slots slots;
    ops::LossTermsUpdate(cpu, slots.terms(), slots.terms64(), Scalar(bad), Scalar(1.0f), Tensor(),
                         Tensor(), {});
    EXPECT_EQ(slots.terms().f32()[4], 1.0f) << bad;
    // A new step clears it.
    ops::LossTermsUpdate(cpu, slots.terms(), slots.terms64(), Scalar(1.0f), Scalar(1.0f), Tensor(),
                         Tensor(), {});
    EXPECT_EQ(slots.terms().f32()[4], 0.0f);
  }
}

}  // namespace
}  // namespace tigerfg
