// kring-node: the school's side of kring. Keeps the school's survey data
// encrypted on the school's own server and imports the exports school IT
// already has. See `kring-node --help`. The commands live in node/cli/,
// one file per group.

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "node/cli/commands.h"

namespace kring::node {
namespace {

constexpr const char* kDescription =
    "kring-node keeps your school's sense-of-belonging survey data on this "
    "server, encrypted, and takes part in kring queries without any "
    "pupil's answers leaving the school.\n\n"
    "Start with `kring-node init`, then `kring-node import EXPORT.csv`. "
    "The passphrase comes from KRING_NODE_PASSPHRASE or is asked for; "
    "use --key-file to protect the data with a key file instead.";

int Main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.require_subcommand(1);
  cli::Command chosen;
  AddInitCommand(app, chosen);
  AddImportCommand(app, chosen);
  AddStatusCommand(app, chosen);
  AddEraseCommands(app, chosen);
  AddRotateKeyCommand(app, chosen);
  AddSynthCommand(app, chosen);
  AddPreviewCommand(app, chosen);
  AddAuditCommand(app, chosen);
  AddBudgetCommand(app, chosen);
  AddEnrollCommand(app, chosen);
  AddRunCommands(app, chosen);
  AddDoctorCommands(app, chosen);
  return cli::ParseAndRun(app, argc, argv, chosen);
}

}  // namespace
}  // namespace kring::node

int main(int argc, char** argv) { return kring::node::Main(argc, argv); }
