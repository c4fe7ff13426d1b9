#ifndef KRING_COORDINATOR_SCHEDULER_H_
#define KRING_COORDINATOR_SCHEDULER_H_

// One thread that calls a tick function at a fixed period: the coordinator
// ticks all running queries from it (deadlines), instead of a thread per
// query.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace kring::coordinator {

class Scheduler {
 public:
  // Starts the thread; `tick` runs every `period` until Stop(). `tick` must
  // be safe to call from that thread and must not call Stop().
  Scheduler(std::chrono::milliseconds period, std::function<void()> tick);
  // Stop().
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Stops ticking and joins the thread (a running tick completes first).
  // Idempotent; thread-safe.
  void Stop();

 private:
  void Loop();

  const std::chrono::milliseconds period_;
  const std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_SCHEDULER_H_
