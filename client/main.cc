// kring: the command line of researchers, municipality analysts, approvers
// and administrators of a kring coordinator. See `kring --help`. The
// commands live in client/cli/, one file per group.

#include "CLI/CLI.hpp"
#include "cli/support.h"
#include "client/cli/commands.h"
#include "client/cli/session.h"

namespace kring::client {
namespace {

constexpr const char* kDescription =
    "kring asks questions about pupils' sense of belonging across many "
    "schools. Each school keeps its own pupils' answers; a query runs on "
    "the schools' own servers after approval, and you get back only "
    "figures over enough schools that passed disclosure control.\n\n"
    "First time: `kring keygen --out ~/.kring/key`, then give your user "
    "id and the printed public key to your coordinator's administrator. "
    "Sign in with --user and --key (or KRING_USER and KRING_KEY), and "
    "give the coordinator's address with --coordinator and its CA with "
    "--ca (or KRING_COORDINATOR and KRING_CA).\n\n"
    "Researchers and municipalities: `kring query submit SPEC.json`, "
    "`kring wait ID`, `kring results ID`. Approvers: `kring query list`, "
    "`kring query approve ID` or `kring query reject ID --reason TEXT`. "
    "Query specs are described in docs/queries.md.";

int Main(int argc, char** argv) {
  CLI::App app{kDescription, "kring"};
  app.footer(
      "Exit codes: 0 done, 1 the request failed (the reason follows "
      "\"kring:\"), 2 wrong usage.");
  app.require_subcommand(1);
  app.fallthrough();

  Global g;
  AddGlobalOptions(app, g);
  Command chosen;
  AddKeygenCommand(app, chosen);
  AddQueryCommands(app, g, chosen);
  AddAdminCommands(app, g, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitUsage;
  }
  return chosen ? chosen() : cli::kExitUsage;
}

}  // namespace
}  // namespace kring::client

int main(int argc, char** argv) { return kring::client::Main(argc, argv); }
