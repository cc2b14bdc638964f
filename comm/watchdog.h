// comm/watchdog.h — a thread that watches every launched collective and aborts the job when one
// has not completed within the timeout, so a dead or diverged rank never leaves the others hanging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tigerfg::comm {

class Work;

class Watchdog {
 public:
  // `abort` must not return (MPI_Abort, ncclCommAbort + MPI_Abort); if it does, the process
  // exits with kExitCode.
  static constexpr int kExitCode = 86;
  // `describe(seq)` (optional) says which ranks have not reached collective #seq; its text joins
  // the timeout message.
  Watchdog(double timeout_s, int rank, std::function<void()> abort,
           std::function<std::string(int64_t seq)> describe = nullptr);
  ~Watchdog();  // stops the thread; works still pending are no longer watched

  // Watches `work` until it reports IsCompleted(); timeout_s > 0 replaces the watchdog's timeout
  // for this work (a collective that waits for rank 0's checkpoint write gets longer).
  // seq: the collective's number on this rank (1, 2, ...), for `describe`.
  void Watch(std::string name, int64_t step, std::shared_ptr<Work> work, double timeout_s = 0,
             int64_t seq = 0);
  size_t pending() const;

 private:
  struct Entry {
    std::string name;
    int64_t step;
    std::chrono::steady_clock::time_point start;
    double timeout_s;
    int64_t seq;
    std::shared_ptr<Work> work;
  };
  void Run();

  const double timeout_s_;
  const int rank_;
  const std::function<void()> abort_;
  const std::function<std::string(int64_t)> describe_;
  // Short enough to fire promptly after the timeout, long enough to cost nothing.
  const std::chrono::milliseconds poll_interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tigerfg::comm
