// model/params.h — how layers find their parameters and gradients in the model's flat buffers,
// and how they announce that a parameter's gradient is final.
#pragma once

#include <functional>
#include <string>

#include "runtime/param_table.h"
#include "runtime/tensor.h"

namespace tigerfg::model {

using ParamReadyFn = std::function<void(const std::string&)>;

// Views into the flat parameter and gradient buffers. Frozen parameters have no gradient: G()
// returns the empty tensor for them.
class ParamStore {
 public:
  ParamStore(const ParamTable* table, float* params, float* grads, Device device)
      : table_(table), params_(params), grads_(grads), device_(device) {}
  Tensor P(const std::string& name) const { return table_->View(params_, name, device_); }
  Tensor G(const std::string& name) const;
  // Calls ready(name) for every trainable parameter whose name starts with `prefix`.
  void NotifyPrefix(const std::string& prefix, const ParamReadyFn& ready) const;

 private:
  const ParamTable* table_;
  float* params_;
  float* grads_;
  Device device_;
};

// A Linear (w [O, I], b [O]) or a LayerNorm (gamma = w, beta = b): values and gradients.
struct AffineRef {
  Tensor w, b, dw, db;
};
AffineRef GetAffine(const ParamStore& store, const std::string& prefix, bool has_bias = true);

}  // namespace tigerfg::model
