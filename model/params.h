// model/params.h — how layers find their parameters and gradients in the model's flat buffers,
// and how they announce that a parameter's gradient is final.
#pragma once

#include <functional>
#include <string>

#include "runtime/core/param_table.h"
#include "runtime/core/tensor.h"

namespace tigerfg::model {

using ParamReadyFn = std::function<void(const std::string&)>;

// Views into the flat parameter and gradient buffers. Frozen parameters have no gradient: G()
// returns the empty tensor for them.
class ParamStore {
 public:
  // params16 (may be null): a BF16 mirror of `params` with the same layout, the GEMM weights of
  // the BF16 precision mode; null in FP32 mode.
  ParamStore(const ParamTable* table, float* params, float* grads, Device device,
             uint16_t* params16 = nullptr)
      : table_(table), params_(params), grads_(grads), device_(device), params16_(params16) {}
  Tensor P(const std::string& name) const { return table_->View(params_, name, device_); }
  Tensor G(const std::string& name) const;
  // The BF16 mirror of a parameter; the empty tensor in FP32 mode.
  Tensor P16(const std::string& name) const;
  // The dtype of the activations the transformer blocks keep: BF16 when there is a mirror.
  DType activation_dtype() const { return params16_ != nullptr ? DType::kBF16 : DType::kF32; }
  // Calls ready(name) for every trainable parameter whose name starts with `prefix`.
  void NotifyPrefix(const std::string& prefix, const ParamReadyFn& ready) const;

 private:
  const ParamTable* table_;
  float* params_;
  float* grads_;
  Device device_;
  uint16_t* params16_;
};

// A Linear (w [O, I], b [O]) or a LayerNorm (gamma = w, beta = b): values and gradients, and
// w's BF16 mirror in the BF16 precision mode (empty otherwise).
struct AffineRef {
  Tensor w, b, dw, db, w16;
};
AffineRef GetAffine(const ParamStore& store, const std::string& prefix, bool has_bias = true);

}  // namespace tigerfg::model
