#ifndef KRING_COORDINATOR_CLI_SESSION_H_
#define KRING_COORDINATOR_CLI_SESSION_H_

// What the `kring-coordinator` commands share: --data-dir, opening the
// coordinator's database and engine, and errors printed as
// "kring-coordinator: ...".

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/engine.h"

namespace kring::coordinator {

// The flags every command has.
struct Common {
  std::string data_dir = "kring-coordinator-data";
  // Empty: SQLite (coordinator.db in data_dir); else a postgresql:// URL.
  std::string database;
};

// Adds --data-dir and --database to `sub`, stored in `c`, which must
// outlive parsing.
void AddCommonOptions(CLI::App& sub, Common& c);

// Prints "kring-coordinator: MESSAGE" on stderr; returns cli::kExitFailed.
int Fail(const absl::Status& s);

// Opens (with `create`, creates) the coordinator's database that `c` names.
absl::StatusOr<std::unique_ptr<CoordinatorDb>> OpenDb(const Common& c,
                                                      bool create);

// Opens the existing coordinator in c.data_dir and its engine with
// `options` (which fails the queries that were running when it stopped).
absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(const Common& c,
                                                   EngineOptions options = {});

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_CLI_SESSION_H_
