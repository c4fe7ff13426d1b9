#include "cli/systemd.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

#include "cli/support.h"
#include "util/str_cat.h"

namespace kring::cli {

void NotifyReady(std::string_view status) {
  // sd_notify returns 0 without NOTIFY_SOCKET: nothing to tell.
  (void)sd_notify(0, StrCat("READY=1\nSTATUS=", OneLine(status)).c_str());
}

void NotifyStopping() { (void)sd_notify(0, "STOPPING=1"); }

absl::Duration WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
    return absl::ZeroDuration();
  }
  return absl::Microseconds(static_cast<int64_t>(usec));
}

std::unique_ptr<Watchdog> Watchdog::Start(std::function<bool()> alive) {
  const absl::Duration interval = WatchdogInterval();
  if (interval == absl::ZeroDuration()) return nullptr;
  return std::unique_ptr<Watchdog>(
      new Watchdog(interval / 2, std::move(alive)));
}

Watchdog::Watchdog(absl::Duration every, std::function<bool()> alive)
    : every_(every), alive_(std::move(alive)), thread_([this] { Beat(); }) {}

Watchdog::~Watchdog() {
  stop_.Notify();
  thread_.join();
}

void Watchdog::Beat() {
  do {
    if (alive_()) (void)sd_notify(0, "WATCHDOG=1");
  } while (!stop_.WaitForNotificationWithTimeout(every_));
}

}  // namespace kring::cli
