#include "coordinator/scheduler.h"

namespace kring::coordinator {

Scheduler::Scheduler(std::chrono::milliseconds period,
                     std::function<void()> tick)
    : period_(period), tick_(std::move(tick)), thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  std::call_once(joined_, [this] { thread_.join(); });
}

void Scheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    tick_();
    lock.lock();
  }
}

}  // namespace kring::coordinator
