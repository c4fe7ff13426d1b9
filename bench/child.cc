#include "bench/child.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "util/str_cat.h"

extern char** environ;

namespace kring::bench {
namespace {

// Spawns `argv` with standard error appended to `log`, and standard output
// too unless `stdout_fd` >= 0, which then becomes its standard output (the
// child inherits no other descriptor opened with O_CLOEXEC).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::filesystem::path& log, int stdout_fd) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  pid_t pid = -1;
  const int err =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    return absl::InternalError(
        StrCat("cannot start ", argv[0], ": ", std::strerror(err)));
  }
  return pid;
}

// The exit status of `pid` once it has ended (-1 if killed by a signal).
int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       const std::filesystem::path& log) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError("cannot create a pipe");
  }
  auto pid = Spawn(argv, log, fds[1]);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    if (n < 0 && errno != EINTR) break;
  }
  close(fds[0]);
  if (const int code = WaitExit(*pid); code != 0) {
    return absl::InternalError(
        StrCat("`", argv[0], " ", argv.size() > 1 ? argv[1] : "",
               "` failed (exit status ", code, "); see ", log.string()));
  }
  return out;
}

absl::StatusOr<Child> Child::Start(const std::vector<std::string>& argv,
                                   const std::filesystem::path& log) {
  auto pid = Spawn(argv, log, -1);
  if (!pid.ok()) return pid.status();
  return Child(*pid);
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    Stop(SIGKILL);
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

void Child::Stop(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  WaitExit(pid_);
  pid_ = -1;
}

bool Child::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

absl::StatusOr<std::filesystem::path> SiblingBinary(const std::string& name) {
  std::error_code ec;
  const std::filesystem::path self =
      std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) return absl::InternalError("cannot find this program's path");
  const std::filesystem::path path = self.parent_path() / name;
  if (access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        StrCat(name, " not found next to ", self.string(), " (looked for ",
               path.string(), "); build it with `cmake --build build --target ",
               name, "`"));
  }
  return path;
}

}  // namespace kring::bench
