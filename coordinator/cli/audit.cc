// `kring-coordinator audit`: the coordinator's audit log, and the check of
// its hash chain.

#include <iostream>
#include <memory>

#include "cli/support.h"
#include "coordinator/cli/commands.h"
#include "coordinator/db.h"

namespace kring::coordinator {
namespace {

using cli::kExitOk;

int RunAudit(const Common& c, bool verify) {
  auto engine = OpenEngine(c);
  if (!engine.ok()) return Fail(engine.status());
  CoordinatorDb& db = (*engine)->db();
  if (verify) {
    if (auto s = db.VerifyAudit(); !s.ok()) return Fail(s);
    std::cout << "The coordinator's audit log is intact.\n";
    return kExitOk;
  }
  auto log = db.AuditLog();
  if (!log.ok()) return Fail(log.status());
  for (const AuditRecord& r : *log) {
    std::cout << r.seq << "  " << r.kind << "  " << r.summary << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddAuditCommand(CLI::App& app, Common& c, cli::Command& chosen) {
  auto verify = std::make_shared<bool>(false);
  auto* audit =
      app.add_subcommand("audit", "Show the coordinator's audit log.");
  AddCommonOptions(*audit, c);
  audit->add_flag("--verify", *verify, "Check the log's hash chain");
  audit->callback([&c, verify, &chosen] {
    chosen = [&c, verify] { return RunAudit(c, *verify); };
  });
}

}  // namespace kring::coordinator
