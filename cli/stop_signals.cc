#include "cli/stop_signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "util/str_cat.h"

namespace kring::cli {
namespace {

// The pipe's write end while an instance exists; -1 otherwise.
std::atomic<int> signal_fd{-1};

constexpr char kStop = 's';
constexpr char kQuit = 'q';  // the destructor: end the watcher

extern "C" void OnStopSignal(int) {
  const int saved = errno;
  const int fd = signal_fd.load();
  if (fd >= 0) {
    const char c = kStop;
    // Async-signal-safe; a full pipe already holds a stop request.
    [[maybe_unused]] ssize_t n = write(fd, &c, 1);
  }
  errno = saved;
}

absl::Status Handle(int sig, void (*handler)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, nullptr) != 0) {
    return absl::InternalError(
        StrCat("cannot install a signal handler: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StopSignals>> StopSignals::Install(
    std::function<void()> on_stop) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(
        StrCat("cannot create the signal pipe: ", std::strerror(errno)));
  }
  // The read end blocks; only the handler's writes must never block.
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
  int expected = -1;
  if (!signal_fd.compare_exchange_strong(expected, fds[1])) {
    close(fds[0]);
    close(fds[1]);
    return absl::FailedPreconditionError(
        "stop signals are already handled in this process");
  }
  std::unique_ptr<StopSignals> s(
      new StopSignals(fds[0], fds[1], std::move(on_stop)));
  for (int sig : {SIGINT, SIGTERM}) {
    if (absl::Status st = Handle(sig, OnStopSignal); !st.ok()) return st;
  }
  return s;
}

StopSignals::StopSignals(int read_fd, int write_fd,
                         std::function<void()> on_stop)
    : read_fd_(read_fd), write_fd_(write_fd), on_stop_(std::move(on_stop)) {
  watcher_ = std::thread([this] { Watch(); });
}

void StopSignals::Watch() {
  bool stopped = false;
  for (;;) {
    char c = 0;
    const ssize_t n = read(read_fd_, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == kQuit) return;
    if (!stopped) {
      stopped = true;
      on_stop_();
    }
  }
}

StopSignals::~StopSignals() {
  (void)Handle(SIGINT, SIG_DFL);
  (void)Handle(SIGTERM, SIG_DFL);
  signal_fd.store(-1);
  const char c = kQuit;
  while (write(write_fd_, &c, 1) < 0 && errno == EINTR) {
  }
  watcher_.join();
  close(read_fd_);
  close(write_fd_);
}

}  // namespace kring::cli
