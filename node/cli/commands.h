#ifndef KRING_NODE_CLI_COMMANDS_H_
#define KRING_NODE_CLI_COMMANDS_H_

// The command groups of `kring-node`. Each Add* function adds its
// subcommands (with their flags and help) to `app`; when one of them is
// chosen on the command line, parsing sets `chosen` to the function that
// runs it. `app` and `chosen` must outlive parsing and the run.
// main.cc adds them in the order `--help` lists them.

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "node/cli/session.h"

namespace kring::node {

// The encrypted store (store.cc): `kring-node init`, `status` and
// `rotate-key`.
void AddInitCommand(CLI::App& app, cli::Command& chosen);
void AddStatusCommand(CLI::App& app, cli::Command& chosen);
void AddRotateKeyCommand(CLI::App& app, cli::Command& chosen);

// Survey exports (import.cc): `kring-node import` and `synth`.
void AddImportCommand(CLI::App& app, cli::Command& chosen);
void AddSynthCommand(CLI::App& app, cli::Command& chosen);

// `kring-node erase` and `readmit`: erasure.
void AddEraseCommands(CLI::App& app, cli::Command& chosen);

// `kring-node preview`: what a query would take from this school.
void AddPreviewCommand(CLI::App& app, cli::Command& chosen);

// `kring-node budget`: the privacy budget ledger (budget.cc).
void AddBudgetCommand(CLI::App& app, cli::Command& chosen);

// `kring-node audit` and `audit verify`: the audit log.
void AddAuditCommand(CLI::App& app, cli::Command& chosen);

// `kring-node enroll`: registering with the coordinator.
void AddEnrollCommand(CLI::App& app, cli::Command& chosen);

// `kring-node pending`, `accept`, `decline` and `run`: taking part in
// queries.
void AddRunCommands(CLI::App& app, cli::Command& chosen);

// `kring-node doctor` and `check-config` (doctor.cc): what is wrong, one
// line per check.
void AddDoctorCommands(CLI::App& app, cli::Command& chosen);

}  // namespace kring::node

#endif  // KRING_NODE_CLI_COMMANDS_H_
