// comm/communicator.cc — argument checks and watchdog registration shared by every backend, and
// the factory that picks a backend.
#include "comm/communicator.h"

#include <numeric>

#include "comm/local_communicator.h"
#include "comm/mpi_communicator.h"
#include "comm/nccl_communicator.h"
#include "comm/watchdog.h"

namespace tigerfg::comm {

Communicator::Communicator(int rank, int world_size, int local_rank, double timeout_s)
    : rank_(rank), world_size_(world_size), local_rank_(local_rank), timeout_s_(timeout_s) {
  CHECK_GE(rank, 0);
  CHECK_LT(rank, world_size);
}

Communicator::~Communicator() = default;

void Communicator::StartWatchdog(std::function<void()> abort,
                                 std::function<std::string(int64_t seq)> describe) {
  watchdog_ = std::make_unique<Watchdog>(timeout_s_, rank_, std::move(abort), std::move(describe));
}

void Communicator::StopWatchdog() { watchdog_.reset(); }

void Communicator::CheckBuffer(const Tensor& t, const char* what) const {
  CHECK(t.defined() || t.numel() == 0) << backend() << ": " << what << " buffer is undefined";
  CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kBF16 || t.dtype() == DType::kI64)
      << backend() << ": " << what << " is " << DTypeName(t.dtype())
      << "; collectives take F32, BF16 or I64";
  CHECK(AcceptsDevice(t.device())) << backend() << ": " << what << " is on the wrong device";
}

// An empty collective launches nothing but still counts, so that every rank numbers its
// collectives alike (the arrival probe compares the numbers).
std::shared_ptr<Work> Communicator::Skipped() {
  ++launched_;
  return std::make_shared<CompletedWork>();
}

std::shared_ptr<Work> Communicator::Watched(std::string_view name, std::shared_ptr<Work> work) {
  const int64_t seq = ++launched_;
  if (watchdog_ && !work->IsCompleted())
    watchdog_->Watch(std::string(name), step(), work, timeout_override_s_, seq);
  return work;
}

static void CheckOp(const Tensor& t, ReduceOp op) {
  CHECK(!(op == ReduceOp::kMean && t.dtype() == DType::kI64)) << "mean of I64 is not supported";
}

static void CheckSameKind(const Tensor& a, const Tensor& b) {
  CHECK(a.dtype() == b.dtype()) << "collective mixes " << DTypeName(a.dtype()) << " and "
                                << DTypeName(b.dtype());
  CHECK(a.device() == b.device()) << "collective mixes CPU and CUDA buffers";
}

static int64_t CheckCounts(const std::vector<int64_t>& counts, int world_size) {
  CHECK_EQ(static_cast<int>(counts.size()), world_size) << "one count per rank";
  for (int64_t c : counts) CHECK_GE(c, 0);
  return std::accumulate(counts.begin(), counts.end(), int64_t{0});
}

std::shared_ptr<Work> Communicator::AllReduce(Tensor buf, ReduceOp op, std::string_view name) {
  CheckBuffer(buf, "all-reduce buffer");
  CheckOp(buf, op);
  if (buf.numel() == 0) return Skipped();
  return Watched(name, DoAllReduce(buf, op));
}

std::shared_ptr<Work> Communicator::AllGather(Tensor out, const Tensor& in, std::string_view name) {
  CheckBuffer(out, "all-gather output");
  CheckBuffer(in, "all-gather input");
  CheckSameKind(out, in);
  CHECK_EQ(out.numel(), in.numel() * world_size_)
      << "all-gather output " << out.shape().ToString() << " is not world x input "
      << in.shape().ToString();
  if (in.numel() == 0) return Skipped();
  return Watched(name, DoAllGather(out, in));
}

std::shared_ptr<Work> Communicator::AllGatherV(Tensor out, const Tensor& in,
                                               const std::vector<int64_t>& counts,
                                               std::string_view name) {
  CheckBuffer(out, "all-gather-v output");
  CheckBuffer(in, "all-gather-v input");
  CheckSameKind(out, in);
  const int64_t total = CheckCounts(counts, world_size_);
  CHECK_EQ(in.numel(), counts[rank_]) << "all-gather-v input size differs from counts[rank]";
  CHECK_EQ(out.numel(), total) << "all-gather-v output size differs from sum(counts)";
  if (total == 0) return Skipped();
  return Watched(name, DoAllGatherV(out, in, counts));
}

std::shared_ptr<Work> Communicator::ReduceScatter(Tensor out, const Tensor& in, ReduceOp op,
                                                  std::string_view name) {
  CheckBuffer(out, "reduce-scatter output");
  CheckBuffer(in, "reduce-scatter input");
  CheckSameKind(out, in);
  CheckOp(in, op);
  CHECK_EQ(in.numel(), out.numel() * world_size_)
      << "reduce-scatter input " << in.shape().ToString() << " is not world x output "
      << out.shape().ToString();
  if (out.numel() == 0) return Skipped();
  return Watched(name, DoReduceScatter(out, in, op));
}

std::shared_ptr<Work> Communicator::ReduceScatterV(Tensor out, const Tensor& in,
                                                   const std::vector<int64_t>& counts, ReduceOp op,
                                                   std::string_view name) {
  CheckBuffer(out, "reduce-scatter-v output");
  CheckBuffer(in, "reduce-scatter-v input");
  CheckSameKind(out, in);
  CheckOp(in, op);
  const int64_t total = CheckCounts(counts, world_size_);
  CHECK_EQ(in.numel(), total) << "reduce-scatter-v input size differs from sum(counts)";
  CHECK_EQ(out.numel(), counts[rank_]) << "reduce-scatter-v output size differs from counts[rank]";
  if (total == 0) return Skipped();
  return Watched(name, DoReduceScatterV(out, in, counts, op));
}

std::shared_ptr<Work> Communicator::Broadcast(Tensor buf, int root, std::string_view name) {
  CheckBuffer(buf, "broadcast buffer");
  CHECK(root >= 0 && root < world_size_) << "broadcast root " << root << " out of range";
  if (buf.numel() == 0) return Skipped();
  return Watched(name, DoBroadcast(buf, root));
}

std::shared_ptr<Work> Communicator::Barrier(std::string_view name) {
  return Watched(name, DoBarrier());
}

Tensor FlatRange(const Tensor& t, int64_t begin, int64_t n) {
  CHECK(begin >= 0 && n >= 0 && begin + n <= t.numel())
      << "range [" << begin << ", " << begin + n << ") outside a tensor of " << t.numel();
  char* base = static_cast<char*>(t.data());
  return Tensor(base == nullptr ? nullptr : base + begin * DTypeSize(t.dtype()), t.dtype(),
                Shape{n}, t.device());
}

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommOptions& options) {
  const std::string& backend = options.backend;
  if (backend != "auto" && backend != "local" && backend != "mpi" && backend != "nccl") {
    return Status::Error("dist.backend: unknown backend '" + backend +
                         "' (expected auto, local, mpi or nccl)");
  }
  if (!(options.timeout_s > 0)) {
    return Status::Error("dist.timeout_s: must be positive, got " +
                         std::to_string(options.timeout_s));
  }
  const bool on_gpu = options.ctx != nullptr && options.ctx->is_cuda();
  if (backend == "local") {
    return std::unique_ptr<Communicator>(
        std::make_unique<LocalCommunicator>(options.timeout_s, options.ctx));
  }
  TIGERFG_RETURN_IF_ERROR(InitMpi(nullptr, nullptr));
  const int world = MpiWorldSize();
  std::string chosen = backend;
  if (backend == "auto") chosen = world == 1 ? "local" : (on_gpu ? "nccl" : "mpi");
  if (chosen == "local") {
    return std::unique_ptr<Communicator>(
        std::make_unique<LocalCommunicator>(options.timeout_s, options.ctx));
  }
  if (chosen == "mpi") {
    if (on_gpu) {
      return Status::Error("dist.backend: mpi moves CPU buffers only; use nccl (or auto) on GPU");
    }
    return std::unique_ptr<Communicator>(std::make_unique<MpiCommunicator>(options.timeout_s));
  }
  if (!on_gpu) return Status::Error("dist.backend: nccl needs the model on a GPU (train.device)");
  return CreateNcclCommunicator(options);
}

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const std::string& backend,
                                                           double timeout_s, const Context* ctx) {
  CommOptions options;
  options.backend = backend;
  options.timeout_s = timeout_s;
  options.ctx = ctx;
  return CreateCommunicator(options);
}

}  // namespace tigerfg::comm
