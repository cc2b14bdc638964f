// ops/dispatch.h — sends an op to its CUDA twin when the context is a GPU one. Included by the
// CPU implementations (ops/cpu/*.cc), which are the public entry points of every op.
#pragma once

#include <glog/logging.h>

#include "runtime/core/context.h"

#ifdef TIGERFG_WITH_CUDA_OPS
#include "ops/cuda/cuda_ops.h"
// Runs cuda::CALL and returns when ctx is a CUDA context.
#define TIGERFG_CUDA_DISPATCH(CALL) \
  do {                              \
    if (ctx.is_cuda()) {            \
      ::tigerfg::ops::cuda::CALL;   \
      return;                       \
    }                               \
  } while (0)
#else
#define TIGERFG_CUDA_DISPATCH(CALL) \
  CHECK(!ctx.is_cuda()) << "this tigerfg was built without the CUDA backend"
#endif
