#ifndef KRING_UTIL_CLOCK_H_
#define KRING_UTIL_CLOCK_H_

// The wall clock behind a small interface, so tests can inject a fake one.

#include <chrono>
#include <cstdint>

namespace kring {

// Tells the time. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (UTC).
  virtual int64_t NowUnixSeconds() const = 0;
};

// The system's wall clock. Thread-safe; lives for the whole program.
inline const Clock& SystemClock() {
  class System final : public Clock {
   public:
    int64_t NowUnixSeconds() const override {
      return std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    }
  };
  static const System clock;
  return clock;
}

}  // namespace kring

#endif  // KRING_UTIL_CLOCK_H_
