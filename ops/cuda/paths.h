// ops/cuda/paths.h — which of the CUDA backend's newer paths run (cuBLASLt epilogues, the
// warp-per-row LayerNorm) and how often each fused path ran or fell back: tests/cuda switches
// them to prove both sides against the CPU twin; nothing else should need to touch them.
#pragma once

#include <atomic>
#include <cstdint>

namespace tigerfg::ops::cuda {

// Process-wide switches (tests flip them between cases; set them before work is queued).
struct PathOptions {
  // cuBLASLt's GELU_AUX_BIAS / DGELU_BGRAD / BGRADB epilogues where an op offers one; false runs
  // the separate passes (GEMM, then the GELU or column-sum kernel) that are the fallback anyway.
  std::atomic<bool> gemm_epilogues{true};
  // With bf16 outputs, GELU_AUX_BIAS and DGELU_BGRAD are offered the fp32 bias (gradient) first;
  // false goes straight to the bf16 vector (cuBLASLt's documented type: C's) that is otherwise
  // the second try, rounded from the fp32 bias or widened into the fp32 gradient.
  std::atomic<bool> f32_epilogue_vectors{true};
  // The warp-per-row LayerNorm (fp32 statistics, dgamma/dbeta in the same pass) for F32
  // activations too. BF16 activations always take it; F32 ones keep the block-per-row kernels
  // with double statistics (the FP32 mode's verified path) unless this is set.
  std::atomic<bool> warp_layernorm_for_f32{false};
};
PathOptions& Paths();

// How often each epilogue ran fused or fell back to separate passes (cuBLASLt declined, an
// alignment ruled it out, or Paths().gemm_epilogues is off), since the process started.
struct PathCounts {
  std::atomic<int64_t> epilogue_fused{0};
  std::atomic<int64_t> epilogue_fallback{0};
  // Of epilogue_fused, the runs with a bf16 bias (gradient) vector (cuBLASLt declined the fp32
  // one, or Paths().f32_epilogue_vectors is off).
  std::atomic<int64_t> epilogue_bf16_vector{0};
  // The CUDNN attention kernel's calls (forward and backward) that ran cuDNN's SDPA, and those
  // that ran the fused kernel instead (masked, declined, deterministic).
  std::atomic<int64_t> cudnn_sdpa{0};
  std::atomic<int64_t> cudnn_fallback{0};
};
PathCounts& Counts();

}  // namespace tigerfg::ops::cuda
