// comm/local_communicator.cc — world size 1: reductions are the identity, gathers are copies.
#include "comm/local_communicator.h"

#include <cstring>

#ifdef TIGERFG_WITH_NCCL
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"
#endif

namespace tigerfg::comm {

LocalCommunicator::LocalCommunicator(double timeout_s, const Context* ctx)
    : Communicator(/*rank=*/0, /*world_size=*/1, /*local_rank=*/0, timeout_s) {
#ifdef TIGERFG_WITH_NCCL
  if (ctx != nullptr && ctx->is_cuda()) stream_ = ctx->cuda()->stream;
#else
  (void)ctx;
#endif
}

bool LocalCommunicator::AcceptsDevice(Device device) const {
#ifdef TIGERFG_WITH_NCCL
  return true;
#else
  return device == Device::kCpu;
#endif
}

std::shared_ptr<Work> LocalCommunicator::Copy(Tensor out, const Tensor& in) {
  if (out.data() != in.data()) {
    if (in.device() == Device::kCpu) {
      std::memcpy(out.data(), in.data(), in.nbytes());
    } else {
#ifdef TIGERFG_WITH_NCCL
      CUDA_CHECK(cudaMemcpyAsync(out.data(), in.data(), in.nbytes(), cudaMemcpyDeviceToDevice,
                                 static_cast<cudaStream_t>(stream_)));
#else
      LOG(FATAL) << "CUDA buffer in a build without CUDA";
#endif
    }
  }
  return std::make_shared<CompletedWork>();
}

std::shared_ptr<Work> LocalCommunicator::DoAllReduce(Tensor, ReduceOp) {
  return std::make_shared<CompletedWork>();
}

std::shared_ptr<Work> LocalCommunicator::DoAllGather(Tensor out, const Tensor& in) {
  return Copy(out, in);
}

std::shared_ptr<Work> LocalCommunicator::DoAllGatherV(Tensor out, const Tensor& in,
                                                      const std::vector<int64_t>&) {
  return Copy(out, in);
}

std::shared_ptr<Work> LocalCommunicator::DoReduceScatter(Tensor out, const Tensor& in, ReduceOp) {
  return Copy(out, in);
}

std::shared_ptr<Work> LocalCommunicator::DoReduceScatterV(Tensor out, const Tensor& in,
                                                          const std::vector<int64_t>&, ReduceOp) {
  return Copy(out, in);
}

std::shared_ptr<Work> LocalCommunicator::DoBroadcast(Tensor, int) {
  return std::make_shared<CompletedWork>();
}

std::shared_ptr<Work> LocalCommunicator::DoBarrier() { return std::make_shared<CompletedWork>(); }

}  // namespace tigerfg::comm
