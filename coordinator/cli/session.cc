#include "coordinator/cli/session.h"

#include <utility>

#include "cli/support.h"
#include "coordinator/db.h"

namespace kring::coordinator {

void AddCommonOptions(CLI::App& sub, Common& c) {
  sub.add_option("--data-dir", c.data_dir,
                 "Directory holding coordinator.db (default "
                 "./kring-coordinator-data)");
}

int Fail(const absl::Status& s) { return cli::Fail("kring-coordinator", s); }

absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(const Common& c,
                                                   EngineOptions options) {
  auto db = CoordinatorDb::Open(c.data_dir, /*create=*/false);
  if (!db.ok()) return db.status();
  // An offline command may run while `serve` runs queries on the same
  // data: it must not fail them as "interrupted".
  options.recover_interrupted_runs = false;
  return Engine::Create(*std::move(db), std::move(options));
}

}  // namespace kring::coordinator
