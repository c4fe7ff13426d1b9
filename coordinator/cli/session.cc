#include "coordinator/cli/session.h"

#include <cstdlib>
#include <utility>

#include "cli/support.h"
#include "coordinator/db.h"

namespace kring::coordinator {

void AddCommonOptions(CLI::App& sub, Common& c) {
  sub.add_option("--data-dir", c.data_dir,
                 "Directory holding coordinator.db (default "
                 "./kring-coordinator-data)");
  // The environment gives the default and the flag overrides it (CLI11's
  // envname would let the variable win over the flag here, where every
  // subcommand binds the same Common). Never shown in --help: it may hold
  // a password.
  if (const char* env = std::getenv("KRING_COORDINATOR_DATABASE");
      env != nullptr && c.database.empty()) {
    c.database = env;
  }
  sub.add_option("--database", c.database,
                 "postgresql://user@host:port/dbname to keep the state in "
                 "PostgreSQL instead of coordinator.db (or "
                 "KRING_COORDINATOR_DATABASE; the password from ~/.pgpass or "
                 "PGPASSWORD, not the URL, on shared machines); audit.key "
                 "stays in --data-dir");
}

absl::StatusOr<std::unique_ptr<CoordinatorDb>> OpenDb(const Common& c,
                                                      bool create) {
  return CoordinatorDb::Open(c.data_dir, c.database, create);
}

int Fail(const absl::Status& s) { return cli::Fail("kring-coordinator", s); }

absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(const Common& c,
                                                   EngineOptions options) {
  auto db = OpenDb(c, /*create=*/false);
  if (!db.ok()) return db.status();
  // An offline command may run while `serve` runs queries on the same
  // data: it must not fail them as "interrupted".
  options.recover_interrupted_runs = false;
  return Engine::Create(*std::move(db), std::move(options));
}

}  // namespace kring::coordinator
