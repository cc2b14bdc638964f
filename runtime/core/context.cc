// runtime/core/context.cc — the CPU side of Context; CUDA builds define the GPU side in
// runtime/cuda_context.cu.
#include "runtime/core/context.h"

#include <glog/logging.h>

namespace tigerfg {

#ifndef TIGERFG_WITH_CUDA
Context Context::Cuda(int device_index) {
  LOG(FATAL) << "CUDA device " << device_index
             << " requested, but this tigerfg was built without the CUDA backend";
}

bool CudaAvailable() { return false; }

int CudaDeviceCount() { return 0; }

void AllowTf32(const Context& ctx, bool) {
  CHECK(!ctx.is_cuda()) << "this tigerfg was built without the CUDA backend";
}

bool Tf32Allowed(const Context&) { return false; }

void UseFlashLdmatrix(const Context& ctx, bool) {
  CHECK(!ctx.is_cuda()) << "this tigerfg was built without the CUDA backend";
}

bool FlashLdmatrixUsed(const Context&) { return false; }
#endif

}  // namespace tigerfg
