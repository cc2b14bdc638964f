// ops/backend.cc — the table lookup behind every public op: names, entry presence, the backend of
// a device, and a compile-time check that each public op has its table type.
#include "ops/backend.h"

#include <glog/logging.h>

#include <type_traits>

#include "ops/attention.h"
#include "ops/cast.h"
#include "ops/embedding.h"
#include "ops/flash_attention.h"
#include "ops/gelu.h"
#include "ops/grounding.h"
#include "ops/images.h"
#include "ops/layernorm.h"
#include "ops/linear.h"
#include "ops/losses.h"
#include "ops/normalize.h"
#include "ops/op_timeline.h"
#include "ops/optim.h"
#include "ops/patch_embed.h"
#include "ops/softmax.h"
#include "ops/tensor_ops.h"

namespace tigerfg::ops {

// The public op and its table entry have one type (an op header and the list cannot drift).
#define TIGERFG_CHECK_PUBLIC_TYPE(Name, field, Ret, Params)                            \
  static_assert(std::is_same_v<decltype(&::tigerfg::ops::Name), OpsBackend::Name##Fn>, \
                #Name " in its ops/*.h header differs from TIGERFG_OPS");
TIGERFG_OPS(TIGERFG_CHECK_PUBLIC_TYPE)
#undef TIGERFG_CHECK_PUBLIC_TYPE

const char* OpName(OpKind op) {
  switch (op) {
#define TIGERFG_OP_NAME(Name, field, Ret, Params) \
  case OpKind::k##Name:                           \
    return #Name;
    TIGERFG_OPS(TIGERFG_OP_NAME)
#undef TIGERFG_OP_NAME
    case OpKind::kCount:
      break;
  }
  return "?";
}

bool HasOp(const OpsBackend& backend, OpKind op) {
  switch (op) {
#define TIGERFG_OP_PRESENT(Name, field, Ret, Params) \
  case OpKind::k##Name:                              \
    return backend.field != nullptr;
    TIGERFG_OPS(TIGERFG_OP_PRESENT)
#undef TIGERFG_OP_PRESENT
    case OpKind::kCount:
      break;
  }
  return false;
}

bool BackendCompiled(Device device) {
#ifdef TIGERFG_WITH_CUDA_OPS
  return device == Device::kCpu || device == Device::kCuda;
#else
  return device == Device::kCpu;
#endif
}

const OpsBackend& BackendFor(Device device) {
  if (device == Device::kCuda) {
#ifdef TIGERFG_WITH_CUDA_OPS
    return cuda::Backend();
#else
    LOG(FATAL) << "this tigerfg was built without the CUDA backend";
#endif
  }
  return cpu::Backend();
}

const OpsBackend& BackendForOp(const Context& ctx, OpKind op) {
  OpTimeline::OnDispatch(op);
  const OpsBackend& backend = BackendFor(ctx.device());
  CHECK(HasOp(backend, op)) << OpName(op) << ": the " << backend.name
                            << " backend has no implementation";
  return backend;
}

}  // namespace tigerfg::ops
