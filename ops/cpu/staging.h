// ops/cpu/staging.h — the CPU ops' bf16 support: a BF16 argument is staged through an fp32 copy,
// the op runs its fp32 code, and a BF16 output is rounded back (round to nearest even). This is
// the reference the CUDA bf16 kernels are tested against; it is not a fast path.
#pragma once

#include "runtime/core/bf16.h"
#include "runtime/core/tensor.h"

namespace tigerfg::ops {

// An F32 view of `t`: `t` itself when it is F32 or empty, else a converted copy. With read ==
// false the copy starts undefined (for outputs the op writes with =).
class StagedF32 {
 public:
  explicit StagedF32(const Tensor& t, bool read = true) : original_(t), view_(t) {
    if (!t.defined() || t.dtype() == DType::kF32) return;
    CHECK(t.dtype() == DType::kBF16)
        << "tensor is " << DTypeName(t.dtype()) << ", expected F32 or BF16";
    copy_ = Buffer(DType::kF32, t.shape());
    if (read) BF16ToFloat(t.bf16(), copy_.f32(), t.numel());
    view_ = copy_.tensor();
  }
  const Tensor& get() const { return view_; }
  bool staged() const { return view_.data() != original_.data(); }
  // Rounds the fp32 copy back into the BF16 original (a no-op for an F32 one).
  void WriteBack() const {
    if (staged()) FloatToBF16(copy_.f32(), original_.bf16(), original_.numel());
  }

 private:
  Tensor original_;
  Tensor view_;
  Buffer copy_;
};

inline bool IsBF16(const Tensor& t) { return t.defined() && t.dtype() == DType::kBF16; }

}  // namespace tigerfg::ops
