#include "coordinator/scheduler.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace kring::coordinator {
namespace {

TEST(SchedulerTest, TicksUntilStoppedAndJoinsItsThread) {
  std::atomic<int> ticks = 0;
  Scheduler s(std::chrono::milliseconds(1), [&] { ++ticks; });
  while (ticks.load() < 3) std::this_thread::yield();
  s.Stop();
  const int stopped = ticks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ticks.load(), stopped) << "no tick after Stop()";
  s.Stop();  // idempotent
}

TEST(SchedulerTest, StopDoesNotWaitForTheNextPeriod) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    Scheduler s(std::chrono::hours(1), [] {});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace kring::coordinator
