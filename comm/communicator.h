// comm/communicator.h — the collectives every rank runs (all-reduce, all-gather, reduce-scatter,
// broadcast, barrier) behind one interface with local, MPI (CPU) and NCCL (GPU) backends.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/context.h"
#include "runtime/core/status.h"
#include "runtime/core/tensor.h"

namespace tigerfg::comm {

class Watchdog;

enum class ReduceOp : uint8_t { kSum, kMean };  // kMean: F32 and BF16 only

// A handle on one asynchronous collective. Buffers must stay alive and untouched until Wait().
class Work {
 public:
  virtual ~Work() = default;
  // CPU backends: blocks until the result is in the output buffer. NCCL: orders the compute
  // stream after the collective (device-side, the host does not block), like c10d's wait().
  virtual void Wait() = 0;
  // Blocks the host until the collective has finished on every backend.
  virtual void Synchronize() { Wait(); }
  // Non-blocking and thread-safe (the watchdog polls it); may report false for a moment while
  // another thread is inside Wait().
  virtual bool IsCompleted() = 0;
};

// An already finished collective (local backend, empty buffers).
class CompletedWork : public Work {
 public:
  void Wait() override {}
  bool IsCompleted() override { return true; }
};

// Collectives on flat buffers of F32, BF16 or I64 (a tensor's shape is ignored, its numel is
// not). Every rank must call the same collectives in the same order. Calls are not thread-safe.
class Communicator {
 public:
  virtual ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }  // rank among the processes of this node
  virtual const char* backend() const = 0;        // "local", "mpi" or "nccl"

  // Tags the collectives launched from now on (watchdog messages name the step).
  void set_step(int64_t step) { step_.store(step); }
  int64_t step() const { return step_.load(); }

  // buf[n] (in place) = reduction over ranks of buf[n]; any n.
  std::shared_ptr<Work> AllReduce(Tensor buf, ReduceOp op, std::string_view name = "all_reduce");
  // out[world * n] = concat over ranks (rank order) of in[n].
  std::shared_ptr<Work> AllGather(Tensor out, const Tensor& in,
                                  std::string_view name = "all_gather");
  // out[sum(counts)] = concat over ranks of in[counts[rank]]; counts[world] in elements.
  std::shared_ptr<Work> AllGatherV(Tensor out, const Tensor& in, const std::vector<int64_t>& counts,
                                   std::string_view name = "all_gather_v");
  // out[n] = reduction over ranks of in[rank * n, (rank + 1) * n); in[world * n].
  std::shared_ptr<Work> ReduceScatter(Tensor out, const Tensor& in, ReduceOp op,
                                      std::string_view name = "reduce_scatter");
  // out[counts[rank]] = reduction over ranks of rank's chunk of in[sum(counts)].
  std::shared_ptr<Work> ReduceScatterV(Tensor out, const Tensor& in,
                                       const std::vector<int64_t>& counts, ReduceOp op,
                                       std::string_view name = "reduce_scatter_v");
  // buf[n] on every rank = buf[n] of `root`.
  std::shared_ptr<Work> Broadcast(Tensor buf, int root, std::string_view name = "broadcast");
  // Completes once every rank has reached it.
  std::shared_ptr<Work> Barrier(std::string_view name = "barrier");

  // Seconds a collective may take before the watchdog aborts the job.
  double timeout_s() const { return timeout_s_; }
  // Collectives launched while it is > 0 get this timeout instead (the trainer extends it while
  // rank 0 writes a checkpoint the others wait for); 0 restores timeout_s().
  void set_timeout_override_s(double s) { timeout_override_s_ = s; }

 protected:
  Communicator(int rank, int world_size, int local_rank, double timeout_s);
  // Backends with asynchronous works start a watchdog that calls `abort` on a timeout.
  // `describe(seq)` (optional) names the ranks that have not reached collective #seq.
  void StartWatchdog(std::function<void()> abort,
                     std::function<std::string(int64_t seq)> describe = nullptr);
  // Collectives launched on this rank (watched ones), numbered from 1.
  const std::atomic<int64_t>* launched_counter() const { return &launched_; }
  void StopWatchdog();

  // Arguments are already checked (dtype, device, sizes; no kMean on I64).
  virtual std::shared_ptr<Work> DoAllReduce(Tensor buf, ReduceOp op) = 0;
  virtual std::shared_ptr<Work> DoAllGather(Tensor out, const Tensor& in) = 0;
  virtual std::shared_ptr<Work> DoAllGatherV(Tensor out, const Tensor& in,
                                             const std::vector<int64_t>& counts) = 0;
  virtual std::shared_ptr<Work> DoReduceScatter(Tensor out, const Tensor& in, ReduceOp op) = 0;
  virtual std::shared_ptr<Work> DoReduceScatterV(Tensor out, const Tensor& in,
                                                 const std::vector<int64_t>& counts,
                                                 ReduceOp op) = 0;
  virtual std::shared_ptr<Work> DoBroadcast(Tensor buf, int root) = 0;
  virtual std::shared_ptr<Work> DoBarrier() = 0;
  // The device this backend's buffers live on; the local backend takes both.
  virtual bool AcceptsDevice(Device device) const = 0;

 private:
  void CheckBuffer(const Tensor& t, const char* what) const;
  std::shared_ptr<Work> Watched(std::string_view name, std::shared_ptr<Work> work);
  std::shared_ptr<Work> Skipped();

  int rank_;
  int world_size_;
  int local_rank_;
  double timeout_s_;
  double timeout_override_s_ = 0;
  std::atomic<int64_t> launched_{0};
  std::atomic<int64_t> step_{0};
  std::unique_ptr<Watchdog> watchdog_;
};

// A flat [n] view of elements [begin, begin + n) of t's memory.
Tensor FlatRange(const Tensor& t, int64_t begin, int64_t n);

// Initialises MPI (MPI_THREAD_MULTIPLE: the watchdog polls requests from its own thread) unless
// it already is; under mpirun or `srun --mpi=pmix` rank and world come from MPI. Idempotent.
Status InitMpi(int* argc, char*** argv);
// Finalises MPI if InitMpi initialised it. Destroy every communicator first.
void FinalizeMpi();

struct CommOptions {
  std::string backend = "auto";  // auto | local | mpi | nccl (DistConfig.backend)
  double timeout_s = 300;        // DistConfig.timeout_s
  // Where the model runs; on CUDA the NCCL backend orders its stream against ctx's stream.
  const Context* ctx = nullptr;
};

// "auto": nccl when ctx is CUDA and world > 1, mpi when world > 1, else local. Initialises MPI
// (InitMpi(nullptr, nullptr)) unless the backend is "local". User mistakes (unknown backend,
// nccl without a GPU or in a build without NCCL, mpi buffers on a GPU) come back as a Status.
StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommOptions& options);
StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const std::string& backend,
                                                           double timeout_s,
                                                           const Context* ctx = nullptr);

}  // namespace tigerfg::comm
