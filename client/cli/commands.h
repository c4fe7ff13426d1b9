#ifndef KRING_CLIENT_CLI_COMMANDS_H_
#define KRING_CLIENT_CLI_COMMANDS_H_

// The command groups of `kring`. Each Add* function adds its subcommands
// (with their flags and help) to `app`; when one of them is chosen on the
// command line, parsing sets `chosen` to the function that runs it.
// `app`, `g` and `chosen` must outlive parsing and the run.

#include "CLI/CLI.hpp"
#include "client/cli/session.h"

namespace kring::client {

// `kring keygen`.
void AddKeygenCommand(CLI::App& app, Command& chosen);

// `kring query submit|list|show|approve|reject`, `kring results` and
// `kring wait`.
void AddQueryCommands(CLI::App& app, const Global& g, Command& chosen);

// `kring admin enroll-code|add-user|nodes|grant`.
void AddAdminCommands(CLI::App& app, const Global& g, Command& chosen);

}  // namespace kring::client

#endif  // KRING_CLIENT_CLI_COMMANDS_H_
