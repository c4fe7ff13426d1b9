// kring-coordinator: the service that schools' nodes connect to and
// requesters query. It never sees a school's numbers: it relays encrypted
// secure-aggregation messages and decodes only sums over schools, which it
// checks for disclosure before releasing them to the requester. The
// commands live in coordinator/cli/, one file per group.

#include "CLI/CLI.hpp"
#include "cli/run.h"
#include "coordinator/cli/commands.h"
#include "coordinator/cli/session.h"

namespace kring::coordinator {
namespace {

constexpr const char* kDescription =
    "kring-coordinator runs kring's coordinator: school nodes connect to "
    "it, requesters submit queries, approvers approve them, and it "
    "computes results by secure aggregation over the schools, releasing "
    "only disclosure-checked sums. Start with `init`, register an admin "
    "with `add-user`, then `serve`.";

int Main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.require_subcommand(1);
  // The packages' /etc/kring/coordinator.toml: serve's flags under [serve].
  app.set_config("--config", "",
                 "Read options from this file (TOML: `[serve]` then "
                 "`listen = \"0.0.0.0:7443\"`; flags given win)");
  app.allow_config_extras(false);
  Common c;
  cli::Command chosen;
  AddAdminCommands(app, c, chosen);
  AddServeCommand(app, c, chosen);
  AddAuditCommand(app, c, chosen);
  return cli::ParseAndRun(app, argc, argv, chosen);
}

}  // namespace
}  // namespace kring::coordinator

int main(int argc, char** argv) { return kring::coordinator::Main(argc, argv); }
