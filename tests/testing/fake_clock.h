#ifndef KRING_TESTS_TESTING_FAKE_CLOCK_H_
#define KRING_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "util/clock.h"

namespace kring::testing {

// A clock that stands still until the test moves it. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_seconds = 1767225600)  // 2026-01-01
      : now_millis_(now_seconds * 1000) {}
  int64_t NowUnixMillis() const override { return now_millis_.load(); }
  void Set(int64_t now_seconds) { now_millis_.store(now_seconds * 1000); }
  void Advance(int64_t seconds) { now_millis_.fetch_add(seconds * 1000); }
  void AdvanceMillis(int64_t millis) { now_millis_.fetch_add(millis); }

 private:
  std::atomic<int64_t> now_millis_;
};

}  // namespace kring::testing

#endif  // KRING_TESTS_TESTING_FAKE_CLOCK_H_
