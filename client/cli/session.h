#ifndef KRING_CLIENT_CLI_SESSION_H_
#define KRING_CLIENT_CLI_SESSION_H_

// What every `kring` command shares: the global flags, signing in, reading
// an input file, and errors printed as "kring: ...".

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/connection.h"
#include "kring/v1/service.grpc.pb.h"

namespace kring::client {

using Stub = v1::Coordinator::Stub;

// The command chosen on the command line, run after parsing; returns the
// exit code (cli::ExitCode).
using Command = std::function<int()>;

// Flags that come before the command (or from KRING_* variables).
struct Global {
  std::string coordinator{kDefaultCoordinator};
  std::string user;
  std::string key_file;
  std::string ca_file;
  bool insecure_loopback = false;
};

// Adds --coordinator, --user, --key, --ca (each also read from its KRING_*
// environment variable) and --insecure-loopback to `app`, stored in `g`,
// which must outlive parsing.
void AddGlobalOptions(CLI::App& app, Global& g);

// Prints "kring: MESSAGE" on stderr; returns cli::kExitFailed.
int Fail(const absl::Status& s);

// Prints "kring: MESSAGE" on stderr; returns cli::kExitUsage.
int Usage(std::string_view message);

// Opens a signed-in connection into `out`; returns cli::kExitOk, or the exit
// code after printing why not.
int SignIn(const Global& g, std::optional<Connection>& out);

// The whole file at `path`, or standard input for "-".
absl::StatusOr<std::string> ReadInput(const std::string& path);

}  // namespace kring::client

#endif  // KRING_CLIENT_CLI_SESSION_H_
