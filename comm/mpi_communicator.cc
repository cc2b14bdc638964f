// comm/mpi_communicator.cc — MPI start-up and the MPI backend. Requests are completed by Wait()
// or by the watchdog's polling (MPI_THREAD_MULTIPLE), whichever sees them finish first.
#include "comm/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <mutex>

#include "comm/bf16.h"
#include "comm/mpi_check.h"
#include "comm/watchdog.h"

namespace tigerfg::comm {
namespace {

bool g_initialised_here = false;
int g_local_rank = -1;

// Element counts per MPI call: MPI counts are int.
constexpr int64_t kMaxChunk = int64_t{1} << 30;

int ToInt(int64_t n) {
  CHECK_LE(n, INT_MAX) << "MPI collective of " << n << " elements exceeds MPI's int count";
  return static_cast<int>(n);
}

void Bf16Sum(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = FloatToBf16(Bf16ToFloat(a[i]) + Bf16ToFloat(b[i]));
}

void Scale(const Tensor& t, float factor) {
  const int64_t n = t.numel();
  if (t.dtype() == DType::kF32) {
    float* p = t.f32();
    for (int64_t i = 0; i < n; ++i) p[i] *= factor;
  } else {
    uint16_t* p = t.bf16();
    for (int64_t i = 0; i < n; ++i) p[i] = FloatToBf16(Bf16ToFloat(p[i]) * factor);
  }
}

// One or more MPI requests; `on_complete` (the 1/world scaling of a mean) runs exactly once, in
// whichever thread first sees the requests finish.
class MpiWork : public Work {
 public:
  std::vector<MPI_Request> requests;
  std::vector<int> counts, displs;  // must outlive the requests (MPI standard)
  std::function<void()> on_complete;

  void Wait() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_.load()) return;
    MPI_CHECK(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
    Complete();
  }

  bool IsCompleted() override {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock() || done_.load()) return done_.load();
    int flag = 0;
    MPI_CHECK(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &flag,
                          MPI_STATUSES_IGNORE));
    if (flag) Complete();
    return done_.load();
  }

 private:
  void Complete() {
    if (on_complete) on_complete();
    done_.store(true);
  }
  std::mutex mu_;
  std::atomic<bool> done_{false};
};

char* Bytes(const Tensor& t) { return static_cast<char*>(t.data()); }

}  // namespace

Status InitMpi(int* argc, char*** argv) {
  int initialised = 0, finalised = 0;
  MPI_CHECK(MPI_Initialized(&initialised));
  MPI_CHECK(MPI_Finalized(&finalised));
  if (finalised) return Status::Error("MPI was already finalised; it cannot start again");
  if (!initialised) {
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided));
    g_initialised_here = true;
    if (provided < MPI_THREAD_MULTIPLE) {
      return Status::Error(
          "this MPI library does not provide MPI_THREAD_MULTIPLE (needed by the "
          "collective watchdog); rebuild Open MPI with thread support");
    }
  } else {
    int provided = 0;
    MPI_CHECK(MPI_Query_thread(&provided));
    if (provided < MPI_THREAD_MULTIPLE) {
      return Status::Error(
          "MPI was initialised without MPI_THREAD_MULTIPLE; call "
          "comm::InitMpi before anything else starts MPI");
    }
  }
  if (g_local_rank < 0) {
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, MpiWorldRank(),
                                  MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_rank(node, &g_local_rank));
    MPI_CHECK(MPI_Comm_free(&node));
  }
  return Status::Ok();
}

void FinalizeMpi() {
  int finalised = 0;
  MPI_CHECK(MPI_Finalized(&finalised));
  if (g_initialised_here && !finalised) MPI_CHECK(MPI_Finalize());
}

int MpiWorldSize() {
  int size = 0;
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  return size;
}

int MpiWorldRank() {
  int rank = 0;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  return rank;
}

int MpiLocalRank() {
  CHECK_GE(g_local_rank, 0) << "InitMpi() has not run";
  return g_local_rank;
}

void MpiAbortJob(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for a broken runtime
}

MpiCommunicator::MpiCommunicator(double timeout_s)
    : Communicator(MpiWorldRank(), MpiWorldSize(), MpiLocalRank(), timeout_s) {
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
  // Errors come back to MPI_CHECK, which names the call; the CHECK's abort then takes down the
  // job through mpirun's fault handling like any dead rank.
  MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Op_create(&Bf16Sum, /*commute=*/1, &bf16_sum_));
  probe_ = std::make_unique<ArrivalProbe>(launched_counter());
  StartWatchdog([] { MpiAbortJob(Watchdog::kExitCode); },
                [this](int64_t seq) { return probe_->Report(seq, /*wait_s=*/2.0); });
}

MpiCommunicator::~MpiCommunicator() {
  StopWatchdog();
  probe_.reset();
  int finalised = 0;
  MPI_CHECK(MPI_Finalized(&finalised));
  if (finalised) return;
  MPI_CHECK(MPI_Op_free(&bf16_sum_));
  MPI_CHECK(MPI_Comm_free(&comm_));
}

MPI_Datatype MpiCommunicator::Type(DType dtype) const {
  switch (dtype) {
    case DType::kF32:
      return MPI_FLOAT;
    case DType::kBF16:
      return MPI_UINT16_T;
    case DType::kI64:
      return MPI_INT64_T;
    default:
      LOG(FATAL) << "no MPI type for " << DTypeName(dtype);
  }
}

MPI_Op MpiCommunicator::SumOp(DType dtype) const {
  return dtype == DType::kBF16 ? bf16_sum_ : MPI_SUM;
}

std::shared_ptr<Work> MpiCommunicator::DoAllReduce(Tensor buf, ReduceOp op) {
  auto work = std::make_shared<MpiWork>();
  const size_t elem = DTypeSize(buf.dtype());
  for (int64_t begin = 0; begin < buf.numel(); begin += kMaxChunk) {
    const int count = ToInt(std::min(kMaxChunk, buf.numel() - begin));
    MPI_Request request;
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, Bytes(buf) + begin * elem, count, Type(buf.dtype()),
                             SumOp(buf.dtype()), comm_, &request));
    work->requests.push_back(request);
  }
  if (op == ReduceOp::kMean) {
    work->on_complete = [buf, world = world_size()] { Scale(buf, 1.0f / world); };
  }
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoAllGather(Tensor out, const Tensor& in) {
  auto work = std::make_shared<MpiWork>();
  const int count = ToInt(in.numel());
  ToInt(out.numel());
  const bool in_place = Bytes(in) == Bytes(out) + rank() * in.nbytes();
  work->requests.emplace_back();
  MPI_CHECK(MPI_Iallgather(in_place ? MPI_IN_PLACE : in.data(), count, Type(in.dtype()), out.data(),
                           count, Type(out.dtype()), comm_, &work->requests.back()));
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoAllGatherV(Tensor out, const Tensor& in,
                                                    const std::vector<int64_t>& counts) {
  auto work = std::make_shared<MpiWork>();
  int64_t offset = 0;
  for (int64_t c : counts) {
    work->counts.push_back(ToInt(c));
    work->displs.push_back(ToInt(offset));
    offset += c;
  }
  const bool in_place = Bytes(in) == Bytes(out) + work->displs[rank()] * DTypeSize(in.dtype());
  work->requests.emplace_back();
  MPI_CHECK(MPI_Iallgatherv(in_place ? MPI_IN_PLACE : in.data(), ToInt(in.numel()),
                            Type(in.dtype()), out.data(), work->counts.data(), work->displs.data(),
                            Type(out.dtype()), comm_, &work->requests.back()));
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoReduceScatter(Tensor out, const Tensor& in, ReduceOp op) {
  auto work = std::make_shared<MpiWork>();
  ToInt(in.numel());
  work->requests.emplace_back();
  MPI_CHECK(MPI_Ireduce_scatter_block(in.data(), out.data(), ToInt(out.numel()), Type(in.dtype()),
                                      SumOp(in.dtype()), comm_, &work->requests.back()));
  if (op == ReduceOp::kMean) {
    work->on_complete = [out, world = world_size()] { Scale(out, 1.0f / world); };
  }
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoReduceScatterV(Tensor out, const Tensor& in,
                                                        const std::vector<int64_t>& counts,
                                                        ReduceOp op) {
  auto work = std::make_shared<MpiWork>();
  ToInt(in.numel());
  for (int64_t c : counts) work->counts.push_back(ToInt(c));
  work->requests.emplace_back();
  // A rank whose chunk is empty still passes a valid pointer.
  void* recv = out.data() != nullptr ? out.data() : in.data();
  MPI_CHECK(MPI_Ireduce_scatter(in.data(), recv, work->counts.data(), Type(in.dtype()),
                                SumOp(in.dtype()), comm_, &work->requests.back()));
  if (op == ReduceOp::kMean) {
    work->on_complete = [out, world = world_size()] {
      if (out.numel() > 0) Scale(out, 1.0f / world);
    };
  }
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoBroadcast(Tensor buf, int root) {
  auto work = std::make_shared<MpiWork>();
  const size_t elem = DTypeSize(buf.dtype());
  for (int64_t begin = 0; begin < buf.numel(); begin += kMaxChunk) {
    const int count = ToInt(std::min(kMaxChunk, buf.numel() - begin));
    MPI_Request request;
    MPI_CHECK(
        MPI_Ibcast(Bytes(buf) + begin * elem, count, Type(buf.dtype()), root, comm_, &request));
    work->requests.push_back(request);
  }
  return work;
}

std::shared_ptr<Work> MpiCommunicator::DoBarrier() {
  auto work = std::make_shared<MpiWork>();
  work->requests.emplace_back();
  MPI_CHECK(MPI_Ibarrier(comm_, &work->requests.back()));
  return work;
}

}  // namespace tigerfg::comm
