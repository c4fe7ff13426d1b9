#ifndef KRING_COORDINATOR_DB_MIGRATIONS_H_
#define KRING_COORDINATOR_DB_MIGRATIONS_H_

// Versioned schema migrations of the coordinator's store, for SQLite and
// PostgreSQL alike: a schema_version table records every numbered step
// applied; Migrate applies the missing steps in order, all in one
// transaction (so an upgrade is applied whole or not at all). A SQLite
// coordinator.db written before schema_version existed (the version-1
// tables without the table) is adopted as version 1.

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/database.h"

namespace kring::coordinator {

// One numbered step: the statements for each dialect.
struct Migration {
  int version = 0;  // 1, 2, 3, ... without gaps
  std::string_view sqlite;
  std::string_view postgres;
};

// The coordinator's steps, oldest first.
std::span<const Migration> CoordinatorMigrations();

// The highest version applied to `db`: 0 for a database without the
// coordinator's tables, 1 for a pre-migration SQLite database.
absl::StatusOr<int> SchemaVersion(storage::Database& db);

// Whether `db` holds a coordinator (schema_version or the version-1
// tables).
absl::StatusOr<bool> HasCoordinatorTables(storage::Database& db);

// Applies the steps of `steps` above the database's version in one
// transaction (on PostgreSQL behind a lock, so two processes migrating at
// once apply each step once). FAILED_PRECONDITION, changing nothing, when
// the database is newer than the last step (a newer kring-coordinator
// wrote it); a failing step rolls everything back and names its version.
absl::Status Migrate(storage::Database& db, std::span<const Migration> steps);

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_DB_MIGRATIONS_H_
