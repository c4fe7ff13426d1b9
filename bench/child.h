#ifndef KRING_BENCH_CHILD_H_
#define KRING_BENCH_CHILD_H_

// Child processes of a benchmark: commands run to completion, and servers
// that run until stopped. Their standard error (and a server's standard
// output) is appended to a log file, which error messages name.

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::bench {

// Runs `argv` (argv[0] is the program's path) to completion and returns
// what it printed on standard output. Its standard error is appended to
// `log`. INTERNAL, naming the command and `log`, when it cannot be started
// or exits with a non-zero status.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       const std::filesystem::path& log);

// A process that runs until stopped, its output appended to a log file.
// Move-only; the destructor kills (SIGKILL) and reaps it.
class Child {
 public:
  // Starts `argv`; INTERNAL, naming the program, if it cannot be started.
  static absl::StatusOr<Child> Start(const std::vector<std::string>& argv,
                                     const std::filesystem::path& log);
  Child(Child&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  Child& operator=(Child&& other) noexcept;
  ~Child() { Stop(SIGKILL); }

  // Sends `signal` and waits until the process has ended. No-op once it
  // has been stopped or has exited.
  void Stop(int signal);
  // True once the process has ended (reaps it; does not block).
  bool Exited();
  // Its process id, or -1 once stopped.
  pid_t pid() const { return pid_; }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// The file called `name` in the directory of the running executable;
// NOT_FOUND, saying how to build it, when there is none.
absl::StatusOr<std::filesystem::path> SiblingBinary(const std::string& name);

}  // namespace kring::bench

#endif  // KRING_BENCH_CHILD_H_
