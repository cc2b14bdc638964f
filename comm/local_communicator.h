// comm/local_communicator.h — the one-process communicator: every collective is a copy (or
// nothing) and completes before it returns.
#pragma once

#include "comm/communicator.h"

namespace tigerfg::comm {

class LocalCommunicator : public Communicator {
 public:
  // `ctx` (may be null): device copies run on its stream so they stay ordered with the model.
  explicit LocalCommunicator(double timeout_s = 300, const Context* ctx = nullptr);
  const char* backend() const override { return "local"; }

 protected:
  std::shared_ptr<Work> DoAllReduce(Tensor buf, ReduceOp op) override;
  std::shared_ptr<Work> DoAllGather(Tensor out, const Tensor& in) override;
  std::shared_ptr<Work> DoAllGatherV(Tensor out, const Tensor& in,
                                     const std::vector<int64_t>& counts) override;
  std::shared_ptr<Work> DoReduceScatter(Tensor out, const Tensor& in, ReduceOp op) override;
  std::shared_ptr<Work> DoReduceScatterV(Tensor out, const Tensor& in,
                                         const std::vector<int64_t>& counts, ReduceOp op) override;
  std::shared_ptr<Work> DoBroadcast(Tensor buf, int root) override;
  std::shared_ptr<Work> DoBarrier() override;
  bool AcceptsDevice(Device device) const override;

 private:
  std::shared_ptr<Work> Copy(Tensor out, const Tensor& in);
  void* stream_ = nullptr;  // cudaStream_t of ctx, when it is a CUDA context
};

}  // namespace tigerfg::comm
