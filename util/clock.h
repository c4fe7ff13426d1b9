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
  // Milliseconds since the Unix epoch (UTC).
  virtual int64_t NowUnixMillis() const = 0;
  // Whole seconds since the Unix epoch (UTC), rounded down.
  int64_t NowUnixSeconds() const {
    const int64_t ms = NowUnixMillis();
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  }
};

// The system's wall clock. Thread-safe; lives for the whole program.
inline const Clock& SystemClock() {
  class System final : public Clock {
   public:
    int64_t NowUnixMillis() const override {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    }
  };
  static const System clock;
  return clock;
}

}  // namespace kring

#endif  // KRING_UTIL_CLOCK_H_
