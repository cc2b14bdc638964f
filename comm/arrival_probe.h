// comm/arrival_probe.h — which ranks have not reached a collective: when the watchdog times out,
// it asks every other rank (over a private MPI communicator, answered by a small thread on each
// rank) how many collectives it has launched, so the message names the late or stopped ranks
// instead of only the rank that waited.
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace tigerfg::comm {

class ArrivalProbe {
 public:
  // `launched`: this rank's count of collectives launched (the communicator's); must outlive the
  // probe. Collective over MPI_COMM_WORLD (duplicates it); MPI_THREAD_MULTIPLE is required.
  explicit ArrivalProbe(const std::atomic<int64_t>* launched);
  ~ArrivalProbe();  // stops the answering thread; before MPI_Finalize
  ArrivalProbe(const ArrivalProbe&) = delete;
  ArrivalProbe& operator=(const ArrivalProbe&) = delete;

  // Asks every other rank for its count and waits up to wait_s: "ranks that have not reached
  // collective #seq: 1 (launched #11), 3 (no answer: stopped or dead)".
  std::string Report(int64_t seq, double wait_s);

 private:
  void Answer();

  const std::atomic<int64_t>* launched_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, world_ = 1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tigerfg::comm
