// comm/mpi_communicator.h — the MPI backend: CPU buffers, nonblocking MPI collectives on a
// private duplicate of MPI_COMM_WORLD, a watchdog that MPI_Aborts the job on a timeout.
#pragma once

#include <mpi.h>

#include <memory>

#include "comm/arrival_probe.h"
#include "comm/communicator.h"

namespace tigerfg::comm {

// MPI_COMM_WORLD's size and this process's rank in it and on its node; InitMpi() first.
int MpiWorldSize();
int MpiWorldRank();
int MpiLocalRank();
// MPI_Abort(MPI_COMM_WORLD, code): mpirun / srun then kill every rank.
[[noreturn]] void MpiAbortJob(int code);

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_s);
  ~MpiCommunicator() override;
  const char* backend() const override { return "mpi"; }
  MPI_Comm mpi_comm() const { return comm_; }

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
  bool AcceptsDevice(Device device) const override { return device == Device::kCpu; }

 private:
  MPI_Datatype Type(DType dtype) const;
  MPI_Op SumOp(DType dtype) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Op bf16_sum_ = MPI_OP_NULL;
  std::unique_ptr<ArrivalProbe> probe_;  // names the late ranks in the watchdog's message
};

}  // namespace tigerfg::comm
