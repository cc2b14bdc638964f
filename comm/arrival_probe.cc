// comm/arrival_probe.cc — the watchdog's question to the other ranks (comm/arrival_probe.h).
#include "comm/arrival_probe.h"

#include <chrono>
#include <vector>

#include "comm/mpi_check.h"

namespace tigerfg::comm {

namespace {
constexpr int kAskTag = 1, kAnswerTag = 2;
}  // namespace

ArrivalProbe::ArrivalProbe(const std::atomic<int64_t>* launched) : launched_(launched) {
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
  MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MPI_CHECK(MPI_Comm_size(comm_, &world_));
  if (world_ > 1) thread_ = std::thread([this] { Answer(); });
}

ArrivalProbe::~ArrivalProbe() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Comm_free(&comm_);
}

// Answers each question with this rank's count; polls so that it can stop (a stopped process
// answers nothing, which is the point).
void ArrivalProbe::Answer() {
  int64_t question = 0;
  MPI_Request request;
  MPI_Irecv(&question, 1, MPI_INT64_T, MPI_ANY_SOURCE, kAskTag, comm_, &request);
  while (!stop_.load()) {
    int flag = 0;
    MPI_Status status;
    MPI_Test(&request, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const int64_t count = launched_->load();
    MPI_Send(&count, 1, MPI_INT64_T, status.MPI_SOURCE, kAnswerTag, comm_);
    MPI_Irecv(&question, 1, MPI_INT64_T, MPI_ANY_SOURCE, kAskTag, comm_, &request);
  }
  MPI_Cancel(&request);
  MPI_Wait(&request, MPI_STATUS_IGNORE);
}

std::string ArrivalProbe::Report(int64_t seq, double wait_s) {
  if (world_ <= 1) return "";
  std::vector<int64_t> answers(world_, -1);
  std::vector<MPI_Request> recvs(world_, MPI_REQUEST_NULL), sends(world_, MPI_REQUEST_NULL);
  std::vector<bool> answered(world_, false);
  for (int r = 0; r < world_; ++r) {
    if (r == rank_) continue;
    MPI_Irecv(&answers[r], 1, MPI_INT64_T, r, kAnswerTag, comm_, &recvs[r]);
    MPI_Isend(&seq, 1, MPI_INT64_T, r, kAskTag, comm_, &sends[r]);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  int pending = world_ - 1;
  while (pending > 0 && std::chrono::steady_clock::now() < deadline) {
    for (int r = 0; r < world_; ++r) {
      if (r == rank_ || answered[r]) continue;
      int flag = 0;
      MPI_Test(&recvs[r], &flag, MPI_STATUS_IGNORE);
      if (flag) answered[r] = true, --pending;
    }
    if (pending > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string late;
  for (int r = 0; r < world_; ++r) {
    if (r == rank_) continue;
    if (!answered[r])
      late += (late.empty() ? "" : ", ") + std::to_string(r) +
              " (no answer: stopped, hung outside tigerfg, or dead)";
    else if (answers[r] < seq)
      late += (late.empty() ? "" : ", ") + std::to_string(r) + " (launched #" +
              std::to_string(answers[r]) + ")";
  }
  // The job is about to be aborted: unanswered requests are left to MPI_Abort.
  if (late.empty())
    return "every other rank has launched collective #" + std::to_string(seq) +
           " (the ranks disagree on the order of collectives?)";
  return "ranks that have not reached collective #" + std::to_string(seq) + ": " + late;
}

}  // namespace tigerfg::comm
