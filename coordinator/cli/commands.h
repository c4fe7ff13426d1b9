#ifndef KRING_COORDINATOR_CLI_COMMANDS_H_
#define KRING_COORDINATOR_CLI_COMMANDS_H_

// The command groups of `kring-coordinator`. Each Add* function adds its
// subcommands (with their flags and help) to `app`; when one of them is
// chosen on the command line, parsing sets `chosen` to the function that
// runs it. `app`, `c` and `chosen` must outlive parsing and the run.

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "coordinator/cli/session.h"

namespace kring::coordinator {

// `kring-coordinator init`, `add-user` and `enroll-code`: setting up the
// coordinator offline, on its own machine.
void AddAdminCommands(CLI::App& app, Common& c, cli::Command& chosen);

// `kring-coordinator serve`: the service.
void AddServeCommand(CLI::App& app, Common& c, cli::Command& chosen);

// `kring-coordinator audit`: the coordinator's audit log.
void AddAuditCommand(CLI::App& app, Common& c, cli::Command& chosen);

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_CLI_COMMANDS_H_
