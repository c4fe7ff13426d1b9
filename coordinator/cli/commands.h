#ifndef KRING_COORDINATOR_CLI_COMMANDS_H_
#define KRING_COORDINATOR_CLI_COMMANDS_H_

// The command groups of `kring-coordinator`. Each Add* function adds its
// subcommands (with their flags and help) to `app`; when one of them is
// chosen on the command line, parsing sets `chosen` to the function that
// runs it. `app`, `c` and `chosen` must outlive parsing and the run.

#include <functional>

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "coordinator/cli/session.h"
#include "coordinator/engine.h"
#include "coordinator/server.h"

namespace kring::coordinator {

// `kring-coordinator init`, `add-user` and `enroll-code`: setting up the
// coordinator offline, on its own machine.
void AddAdminCommands(CLI::App& app, Common& c, cli::Command& chosen);

// Called by `serve` after it opened the engine and before it starts the
// server, to adjust both; only the benchmark build passes one (see
// coordinator/cli/bench_main.cc).
using ServeHook = std::function<void(Engine&, ServerOptions&)>;

// `kring-coordinator serve`: the service. `hook`, when set, runs as
// described at ServeHook.
void AddServeCommand(CLI::App& app, Common& c, cli::Command& chosen,
                     ServeHook hook = nullptr);

// `kring-coordinator audit`: the coordinator's audit log.
void AddAuditCommand(CLI::App& app, Common& c, cli::Command& chosen);

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_CLI_COMMANDS_H_
