// model/device_storage.h — memory on a context's device (host memory on CPU, cudaMalloc'd memory
// on CUDA) for the model's flat buffers, arena and staged inputs, and the synchronous host copies
// that are the only way model code moves data between the host and the device.
#pragma once

#include <memory>

#include "runtime/context.h"
#include "runtime/tensor.h"

namespace tigerfg::model {

// Owning, zero-filled memory for one tensor on ctx's device. On CUDA it needs the CUDA backend.
class DeviceStorage {
 public:
  DeviceStorage() = default;
  DeviceStorage(const Context& ctx, DType dtype, Shape shape);

  // A view with ctx's device.
  Tensor tensor() const { return view_; }
  void* data() const { return view_.data(); }

 private:
  std::shared_ptr<void> owner_;  // a Buffer or a DeviceBuffer, type-erased so that CPU-only
                                 // builds never reference DeviceBuffer's CUDA definitions
  Tensor view_;
};

// host = src (src on ctx's device, same byte size). On CUDA the copy is ordered on ctx's stream
// and waits for it, so every op issued before it is finished.
void CopyToHost(const Context& ctx, Tensor host, const Tensor& src);
// dst (on ctx's device) = host; on CUDA ordered on ctx's stream and finished on return.
void CopyFromHost(const Context& ctx, Tensor dst, const Tensor& host);
// A host copy of a tensor on ctx's device.
Buffer ToHost(const Context& ctx, const Tensor& src);

}  // namespace tigerfg::model
