// tests/comm/watchdog_test.cc — the watchdog forgets completed works and leaves the job alone.
// The firing path (abort of the whole job) runs under mpirun from comm_fault_test.sh.
#include "comm/watchdog.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "comm_test_util.h"

namespace tigerfg::comm {
namespace {

class FlagWork : public Work {
 public:
  void Wait() override {}
  bool IsCompleted() override { return done.load(); }
  std::atomic<bool> done{false};
};

TEST(Watchdog, DropsWorksOnceCompletedWithoutAborting) {
  std::atomic<bool> aborted{false};
  {
    Watchdog watchdog(/*timeout_s=*/0.5, /*rank=*/0, [&] { aborted = true; });
    auto work = std::make_shared<FlagWork>();
    watchdog.Watch("all_reduce", 3, work);
    EXPECT_EQ(watchdog.pending(), 1u);
    work->done = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (watchdog.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(watchdog.pending(), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // past the timeout
  }
  EXPECT_FALSE(aborted.load());
}

// A collective that waits for rank 0's checkpoint write is watched with a longer timeout: it may
// outlast dist.timeout_s without ending the job (before, the watchdog aborted at 0.5 s here).
TEST(Watchdog, AnExtendedTimeoutOutlastsTheDefault) {
  std::atomic<bool> aborted{false};
  {
    Watchdog watchdog(/*timeout_s=*/0.5, /*rank=*/0, [&] { aborted = true; });
    auto work = std::make_shared<FlagWork>();
    watchdog.Watch("all_reduce status", 3, work, /*timeout_s=*/30, /*seq=*/1);
    std::this_thread::sleep_for(std::chrono::milliseconds(900));  // past the default
    work->done = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (watchdog.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(watchdog.pending(), 0u);
  }
  EXPECT_FALSE(aborted.load());
}

}  // namespace
}  // namespace tigerfg::comm
