// comm/watchdog.cc — the collective watchdog thread.
#include "comm/watchdog.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "comm/communicator.h"

namespace tigerfg::comm {

Watchdog::Watchdog(double timeout_s, int rank, std::function<void()> abort,
                   std::function<std::string(int64_t seq)> describe)
    : timeout_s_(timeout_s),
      rank_(rank),
      abort_(std::move(abort)),
      describe_(std::move(describe)),
      poll_interval_(std::clamp<int64_t>(static_cast<int64_t>(timeout_s * 1000 / 20), 5, 100)) {
  CHECK_GT(timeout_s, 0) << "watchdog timeout must be positive";
  thread_ = std::thread([this] { Run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::Watch(std::string name, int64_t step, std::shared_ptr<Work> work, double timeout_s,
                     int64_t seq) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({std::move(name), step, std::chrono::steady_clock::now(),
                        timeout_s > 0 ? timeout_s : timeout_s_, seq, std::move(work)});
  }
  cv_.notify_all();
}

size_t Watchdog::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, poll_interval_, [this] { return stop_; });
    if (stop_) return;
    if (entries_.empty()) {
      cv_.wait(lock, [this] { return stop_ || !entries_.empty(); });
      continue;
    }
    // Poll without the lock: IsCompleted() may enter MPI or CUDA, and Watch() must not wait on it.
    std::vector<Entry> polled;
    polled.swap(entries_);
    lock.unlock();
    std::vector<Entry> still_pending;
    const auto now = std::chrono::steady_clock::now();
    for (Entry& entry : polled) {
      if (entry.work->IsCompleted()) continue;
      const double elapsed = std::chrono::duration<double>(now - entry.start).count();
      if (elapsed > entry.timeout_s) {
        LOG(ERROR) << "collective " << entry.name << " (step " << entry.step << ") on rank "
                   << rank_ << " timed out after " << elapsed << " s (timeout " << entry.timeout_s
                   << " s, dist.timeout_s): another rank never reached it (stopped, hung, or "
                   << "much slower); aborting the job";
        if (describe_) {
          const std::string late = describe_(entry.seq);
          if (!late.empty()) LOG(ERROR) << "rank " << rank_ << ": " << late;
        }
        google::FlushLogFiles(google::GLOG_INFO);
        std::fflush(stderr);
        abort_();
        std::_Exit(kExitCode);
      }
      still_pending.push_back(std::move(entry));
    }
    lock.lock();
    // Entries added while polling came after those polled: keep launch order.
    still_pending.insert(still_pending.end(), std::make_move_iterator(entries_.begin()),
                         std::make_move_iterator(entries_.end()));
    entries_.swap(still_pending);
  }
}

}  // namespace tigerfg::comm
