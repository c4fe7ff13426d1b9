#ifndef KRING_CLI_STOP_SIGNALS_H_
#define KRING_CLI_STOP_SIGNALS_H_

// Stopping a long-running command (`kring-node run`) on SIGINT or SIGTERM
// without doing anything in a signal handler but writing one byte to a
// pipe (the self-pipe pattern): a thread of its own reads the pipe and
// calls the stop function from normal code, where it may take locks.

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"

namespace kring::cli {

class StopSignals {
 public:
  // Installs handlers for SIGINT and SIGTERM; on the first of them,
  // `on_stop` runs once on the watcher thread. At most one instance per
  // process (FAILED_PRECONDITION otherwise); INTERNAL if the pipe or the
  // handlers cannot be set up.
  static absl::StatusOr<std::unique_ptr<StopSignals>> Install(
      std::function<void()> on_stop);
  // Restores the default handlers and joins the watcher thread (after
  // `on_stop` returned, if it ran).
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  StopSignals(int read_fd, int write_fd, std::function<void()> on_stop);
  void Watch();

  int read_fd_;
  int write_fd_;
  std::function<void()> on_stop_;
  std::thread watcher_;
};

}  // namespace kring::cli

#endif  // KRING_CLI_STOP_SIGNALS_H_
