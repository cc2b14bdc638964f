// comm/nccl_communicator.cc — the NCCL backend: collectives on a communication stream that waits
// for the compute stream; Work::Wait() makes the compute stream wait for the collective.
#include "comm/nccl_communicator.h"

#ifdef TIGERFG_WITH_NCCL

#include <nccl.h>

#include "comm/arrival_probe.h"
#include "comm/mpi_check.h"
#include "comm/mpi_communicator.h"
#include "comm/watchdog.h"
#include "runtime/core/cuda_check.h"
#include "runtime/core/cuda_context.h"

#define NCCL_CHECK(call)                                                                    \
  do {                                                                                      \
    const ncclResult_t _nccl_rc = (call);                                                   \
    CHECK(_nccl_rc == ncclSuccess) << #call << " failed at " << __FILE__ << ":" << __LINE__ \
                                   << ": " << ncclGetErrorString(_nccl_rc);                 \
  } while (0)

namespace tigerfg::comm {
namespace {

ncclDataType_t NcclType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ncclFloat32;
    case DType::kBF16:
      return ncclBfloat16;
    case DType::kI64:
      return ncclInt64;
    default:
      LOG(FATAL) << "no NCCL type for " << DTypeName(dtype);
  }
}

ncclRedOp_t NcclOp(ReduceOp op) { return op == ReduceOp::kMean ? ncclAvg : ncclSum; }

char* At(const Tensor& t, int64_t element) {
  return static_cast<char*>(t.data()) + element * DTypeSize(t.dtype());
}

class NcclWork : public Work {
 public:
  NcclWork(int device, ncclComm_t comm, cudaStream_t compute_stream, cudaEvent_t done)
      : device_(device), comm_(comm), compute_stream_(compute_stream), done_(done) {}
  ~NcclWork() override { cudaEventDestroy(done_); }

  void Wait() override { CUDA_CHECK(cudaStreamWaitEvent(compute_stream_, done_, 0)); }
  void Synchronize() override { CUDA_CHECK(cudaEventSynchronize(done_)); }
  bool IsCompleted() override {
    CUDA_CHECK(cudaSetDevice(device_));  // the watchdog thread calls this too
    const cudaError_t state = cudaEventQuery(done_);
    if (state == cudaSuccess) return true;
    CHECK(state == cudaErrorNotReady) << "cudaEventQuery failed: " << cudaGetErrorString(state);
    ncclResult_t async_error = ncclSuccess;
    NCCL_CHECK(ncclCommGetAsyncError(comm_, &async_error));
    CHECK(async_error == ncclSuccess || async_error == ncclInProgress)
        << "NCCL asynchronous error: " << ncclGetErrorString(async_error);
    return false;
  }

 private:
  int device_;
  ncclComm_t comm_;
  cudaStream_t compute_stream_;
  cudaEvent_t done_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(double timeout_s, const Context& ctx, const ncclUniqueId& id)
      : Communicator(MpiWorldRank(), MpiWorldSize(), MpiLocalRank(), timeout_s),
        host_(std::make_unique<MpiCommunicator>(timeout_s)),
        device_(ctx.cuda()->device),
        compute_stream_(ctx.cuda()->stream) {
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    NCCL_CHECK(ncclCommInitRank(&comm_, world_size(), id, rank()));
    probe_ = std::make_unique<ArrivalProbe>(launched_counter());
    StartWatchdog(
        [comm = comm_] {
          ncclCommAbort(comm);
          MpiAbortJob(Watchdog::kExitCode);
        },
        [this](int64_t seq) { return probe_->Report(seq, /*wait_s=*/2.0); });
  }

  ~NcclCommunicator() override {
    StopWatchdog();
    probe_.reset();
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaStreamSynchronize(comm_stream_));
    NCCL_CHECK(ncclCommDestroy(comm_));
    CUDA_CHECK(cudaEventDestroy(ready_));
    CUDA_CHECK(cudaStreamDestroy(comm_stream_));
  }

  const char* backend() const override { return "nccl"; }

 protected:
  bool AcceptsDevice(Device device) const override { return device == Device::kCuda; }

  std::shared_ptr<Work> DoAllReduce(Tensor buf, ReduceOp op) override {
    return Launch([&] {
      NCCL_CHECK(ncclAllReduce(buf.data(), buf.data(), buf.numel(), NcclType(buf.dtype()),
                               NcclOp(op), comm_, comm_stream_));
    });
  }

  std::shared_ptr<Work> DoAllGather(Tensor out, const Tensor& in) override {
    return Launch([&] {
      NCCL_CHECK(ncclAllGather(in.data(), out.data(), in.numel(), NcclType(in.dtype()), comm_,
                               comm_stream_));
    });
  }

  // Unequal counts: one broadcast per rank into its slot, fused by a group.
  std::shared_ptr<Work> DoAllGatherV(Tensor out, const Tensor& in,
                                     const std::vector<int64_t>& counts) override {
    return Launch([&] {
      NCCL_CHECK(ncclGroupStart());
      int64_t offset = 0;
      for (int r = 0; r < world_size(); ++r) {
        if (counts[r] > 0) {
          const void* send = r == rank() ? in.data() : At(out, offset);
          NCCL_CHECK(ncclBroadcast(send, At(out, offset), counts[r], NcclType(out.dtype()), r,
                                   comm_, comm_stream_));
        }
        offset += counts[r];
      }
      NCCL_CHECK(ncclGroupEnd());
    });
  }

  std::shared_ptr<Work> DoReduceScatter(Tensor out, const Tensor& in, ReduceOp op) override {
    return Launch([&] {
      NCCL_CHECK(ncclReduceScatter(in.data(), out.data(), out.numel(), NcclType(in.dtype()),
                                   NcclOp(op), comm_, comm_stream_));
    });
  }

  // Unequal counts: one reduce per rank onto its chunk, fused by a group.
  std::shared_ptr<Work> DoReduceScatterV(Tensor out, const Tensor& in,
                                         const std::vector<int64_t>& counts, ReduceOp op) override {
    return Launch([&] {
      NCCL_CHECK(ncclGroupStart());
      int64_t offset = 0;
      for (int r = 0; r < world_size(); ++r) {
        if (counts[r] > 0) {
          void* recv = r == rank() ? out.data() : At(in, offset);  // ignored off the root
          NCCL_CHECK(ncclReduce(At(in, offset), recv, counts[r], NcclType(in.dtype()), NcclOp(op),
                                r, comm_, comm_stream_));
        }
        offset += counts[r];
      }
      NCCL_CHECK(ncclGroupEnd());
    });
  }

  std::shared_ptr<Work> DoBroadcast(Tensor buf, int root) override {
    return Launch([&] {
      NCCL_CHECK(ncclBroadcast(buf.data(), buf.data(), buf.numel(), NcclType(buf.dtype()), root,
                               comm_, comm_stream_));
    });
  }

  // A host-side barrier: the ranks' CPUs meet; device work is not involved.
  std::shared_ptr<Work> DoBarrier() override { return host_->Barrier(); }

 private:
  template <typename Issue>
  std::shared_ptr<Work> Launch(Issue&& issue) {
    CUDA_CHECK(cudaSetDevice(device_));
    // The collective reads what the compute stream has produced so far.
    CUDA_CHECK(cudaEventRecord(ready_, compute_stream_));
    CUDA_CHECK(cudaStreamWaitEvent(comm_stream_, ready_, 0));
    issue();
    cudaEvent_t done;
    CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventRecord(done, comm_stream_));
    return std::make_shared<NcclWork>(device_, comm_, compute_stream_, done);
  }

  std::unique_ptr<MpiCommunicator> host_;
  int device_;
  cudaStream_t compute_stream_;
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
  ncclComm_t comm_ = nullptr;
  std::unique_ptr<ArrivalProbe> probe_;  // names the late ranks in the watchdog's message
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommOptions& options) {
  if (options.ctx == nullptr || !options.ctx->is_cuda()) {
    return Status::Error("dist.backend: nccl needs a CUDA context");
  }
  TIGERFG_RETURN_IF_ERROR(InitMpi(nullptr, nullptr));
  const int rank = MpiWorldRank();
  // Rank and world come from MPI, so the id travels over MPI too (a file or TCP rendezvous would
  // add a second bootstrap without removing the need for the first).
  ncclUniqueId id;
  if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD));
  return std::unique_ptr<Communicator>(
      std::make_unique<NcclCommunicator>(options.timeout_s, *options.ctx, id));
}

}  // namespace tigerfg::comm

#else  // !TIGERFG_WITH_NCCL

namespace tigerfg::comm {

StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommOptions&) {
  return Status::Error(
      "dist.backend: nccl is not available in this build (configure with "
      "-DTIGERFG_CUDA=ON on a machine with CUDA and NCCL)");
}

}  // namespace tigerfg::comm

#endif  // TIGERFG_WITH_NCCL
