// tests/cuda/attention_parity.h — one fused attention op pair (forward, backward) run on the CPU
// and the GPU over the same bf16 inputs, every output compared: shared by the flash and cuDNN
// attention tests.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/flash_attention.h"
#include "tests/cuda/parity.h"

namespace tigerfg::cuda_testing {

using AttentionForwardFn = void (*)(const Context&, Tensor, Tensor, const Tensor&, const Tensor&,
                                    int);
using AttentionBackwardFn = void (*)(const Context&, Tensor, Tensor, const Tensor&, const Tensor&,
                                     const Tensor&, const Tensor&, const Tensor&, int);

// qkv [B, S, 3 H d] and dout [B, S, H d] drawn from `rng` in that order; key_valid [B, S] applied
// when `masked`. out and dqkv within 1e-2, lse within 1e-4 relative L2; the backward reads each
// side's own (rounded) forward outputs, like the model. Returns dqkv for further checks.
inline Twin ExpectFusedAttentionMatches(AttentionForwardFn forward, AttentionBackwardFn backward,
                                        int64_t B, int64_t S, int64_t H, int64_t d,
                                        const std::vector<uint8_t>& key_valid, bool masked,
                                        Rng& rng) {
  const int64_t D = H * d;
  const int heads = static_cast<int>(H);
  auto qkv = RandomOf(DType::kBF16, {B, S, 3 * D}, rng);
  auto valid = FromValues<uint8_t>(DType::kU8, Shape({B, S}), key_valid);
  const Tensor vh = masked ? valid.h() : Tensor(), vd = masked ? valid.d() : Tensor();
  auto out = OutputOf(DType::kBF16, {B, S, D});
  auto lse = OutputOf(DType::kF32, {B, H, S});
  forward(Cpu(), out.h(), lse.h(), qkv.h(), vh, heads);
  forward(Gpu(), out.d(), lse.d(), qkv.d(), vd, heads);
  ExpectMatchTyped(out, "out");
  ExpectMatchTyped(lse, "lse", 1e-4);
  auto dout = RandomOf(DType::kBF16, {B, S, D}, rng);
  auto dqkv = OutputOf(DType::kBF16, {B, S, 3 * D});
  Buffer ws(Gpu(), DType::kF32, Shape{ops::FlashAttentionWorkspaceNumel(B, S, D, H)});
  backward(Cpu(), dqkv.h(), Tensor(), dout.h(), qkv.h(), out.h(), lse.h(), vh, heads);
  backward(Gpu(), dqkv.d(), ws.tensor(), dout.d(), qkv.d(), out.d(), lse.d(), vd, heads);
  ExpectMatchTyped(dqkv, "dqkv");
  return dqkv;
}

}  // namespace tigerfg::cuda_testing
