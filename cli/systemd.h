#ifndef KRING_CLI_SYSTEMD_H_
#define KRING_CLI_SYSTEMD_H_

// Telling systemd how a long-running command (`kring-node run`,
// `kring-coordinator serve`) is doing, for the Type=notify units in
// deploy/systemd/: READY=1 once it serves, STOPPING=1 when it stops, and
// WATCHDOG=1 heartbeats while the unit sets WatchdogSec=. Every function is
// a no-op when NOTIFY_SOCKET is unset (a command run by hand, tests), so
// callers need not check. A thin adapter over libsystemd's sd_notify.

#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace kring::cli {

// READY=1 with `status` (one line, shown by `systemctl status`).
void NotifyReady(std::string_view status);

// STOPPING=1: the service is shutting down.
void NotifyStopping();

// The watchdog interval systemd asked this process for (WatchdogSec=, via
// WATCHDOG_USEC and WATCHDOG_PID), or absl::ZeroDuration() when none.
absl::Duration WatchdogInterval();

// Sends WATCHDOG=1 at half the interval systemd asked for, from a thread of
// its own, as long as `alive` returns true. When `alive` returns false (or
// blocks, as a deadlocked lock would) no heartbeat goes out, and systemd
// restarts the service after WatchdogSec=. Thread-safe; destroying it
// stops the heartbeats and joins the thread.
class Watchdog {
 public:
  // nullptr when systemd asked for no watchdog. `alive` is called on the
  // watchdog's thread and must be thread-safe.
  static std::unique_ptr<Watchdog> Start(std::function<bool()> alive);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  Watchdog(absl::Duration every, std::function<bool()> alive);
  void Beat();

  absl::Duration every_;
  std::function<bool()> alive_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace kring::cli

#endif  // KRING_CLI_SYSTEMD_H_
