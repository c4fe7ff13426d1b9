#ifndef KRING_TESTS_TESTING_WAIT_H_
#define KRING_TESTS_TESTING_WAIT_H_

// Waiting for an observable fact instead of sleeping for a fixed time.

#include <chrono>
#include <functional>
#include <thread>

namespace kring::testing {

// Polls `condition` every `poll` until it holds (true) or `deadline` has
// passed (false; the condition is checked once more at the deadline).
// Deadlines only matter when a test fails, so make them generous: the
// machine may be loaded.
inline bool WaitUntil(
    const std::function<bool()>& condition, std::chrono::milliseconds deadline,
    std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return condition();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace kring::testing

#endif  // KRING_TESTS_TESTING_WAIT_H_
