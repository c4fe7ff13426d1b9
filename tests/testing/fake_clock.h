#ifndef KRING_TESTS_TESTING_FAKE_CLOCK_H_
#define KRING_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "util/clock.h"

namespace kring::testing {

// A clock that stands still until the test moves it. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now = 1767225600) : now_(now) {}  // 2026-01-01
  int64_t NowUnixSeconds() const override { return now_.load(); }
  void Set(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace kring::testing

#endif  // KRING_TESTS_TESTING_FAKE_CLOCK_H_
