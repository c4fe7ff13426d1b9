#include "coordinator/db_migrations.h"

#include <chrono>

#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

using storage::Database;
using storage::Dialect;

// Version 1: the tables kring-coordinator has always created (the audit
// table in the kCoordinator format of storage/audit_chain.h).
constexpr std::string_view kVersion1Sqlite =
    "CREATE TABLE codes(code_hash BLOB PRIMARY KEY, brin TEXT,"
    "  name TEXT, municipality TEXT, expires INTEGER, used INTEGER);"
    "CREATE TABLE schools(school_id TEXT PRIMARY KEY, brin TEXT,"
    "  name TEXT, municipality TEXT, identity_key BLOB,"
    "  version TEXT, last_seen INTEGER);"
    "CREATE TABLE users(user_id TEXT PRIMARY KEY, role INTEGER,"
    "  public_key BLOB, municipalities TEXT);"
    "CREATE TABLE queries(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  query_id TEXT UNIQUE, info BLOB);"
    "CREATE TABLE results(query_id TEXT PRIMARY KEY, tbl TEXT,"
    "  json TEXT, csv TEXT);"
    "CREATE TABLE grants(query_id TEXT, user_id TEXT,"
    "  PRIMARY KEY(query_id, user_id));"
    "CREATE TABLE ledger(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  entry TEXT);"
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, millis INTEGER,"
    "  kind TEXT, summary TEXT, hash BLOB);";

constexpr std::string_view kVersion1Postgres =
    "CREATE TABLE codes(code_hash BYTEA PRIMARY KEY, brin TEXT,"
    "  name TEXT, municipality TEXT, expires BIGINT, used BIGINT);"
    "CREATE TABLE schools(school_id TEXT PRIMARY KEY, brin TEXT,"
    "  name TEXT, municipality TEXT, identity_key BYTEA,"
    "  version TEXT, last_seen BIGINT);"
    "CREATE TABLE users(user_id TEXT PRIMARY KEY, role BIGINT,"
    "  public_key BYTEA, municipalities TEXT);"
    "CREATE TABLE queries(seq BIGSERIAL PRIMARY KEY,"
    "  query_id TEXT UNIQUE, info BYTEA);"
    "CREATE TABLE results(query_id TEXT PRIMARY KEY, tbl TEXT,"
    "  json TEXT, csv TEXT);"
    "CREATE TABLE grants(query_id TEXT, user_id TEXT,"
    "  PRIMARY KEY(query_id, user_id));"
    "CREATE TABLE ledger(seq BIGSERIAL PRIMARY KEY, entry TEXT);"
    "CREATE TABLE audit(seq BIGINT PRIMARY KEY, millis BIGINT,"
    "  kind TEXT, summary TEXT, hash BYTEA);";

constexpr Migration kMigrations[] = {
    {1, kVersion1Sqlite, kVersion1Postgres},
};

absl::StatusOr<bool> HasTable(Database& db, std::string_view table) {
  auto st = db.Prepare(
      db.dialect() == Dialect::kSqlite
          ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
          : "SELECT 1 FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name = ?");
  if (!st.ok()) return st.status();
  return st->BindText(1, table).Step();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Apply(Database& db, const Migration& m) {
  const std::string_view sql =
      db.dialect() == Dialect::kSqlite ? m.sqlite : m.postgres;
  if (!sql.empty()) {
    if (auto s = db.Exec(sql); !s.ok()) {
      return absl::Status(s.code(), StrCat("schema migration ", m.version,
                                           " failed (nothing was changed): ",
                                           ToStd(s.message())));
    }
  }
  auto st = db.Prepare(
      "INSERT INTO schema_version(version, applied_millis) VALUES(?, ?)");
  if (!st.ok()) return st.status();
  return st->Bind(1, int64_t{m.version}).Bind(2, NowMillis()).Run();
}

}  // namespace

std::span<const Migration> CoordinatorMigrations() { return kMigrations; }

absl::StatusOr<bool> HasCoordinatorTables(Database& db) {
  auto versioned = HasTable(db, "schema_version");
  if (!versioned.ok() || *versioned) return versioned;
  return HasTable(db, "queries");
}

absl::StatusOr<int> SchemaVersion(Database& db) {
  auto versioned = HasTable(db, "schema_version");
  if (!versioned.ok()) return versioned.status();
  if (!*versioned) {
    auto old = HasTable(db, "queries");
    if (!old.ok()) return old.status();
    return *old ? 1 : 0;
  }
  auto st = db.Prepare("SELECT MAX(version) FROM schema_version");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(st->Int(0));
}

absl::Status Migrate(Database& db, std::span<const Migration> steps) {
  auto tx =
      storage::Transaction::Begin(db, storage::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  auto version = SchemaVersion(db);
  if (!version.ok()) return version.status();
  const int latest = steps.empty() ? 0 : steps.back().version;
  if (*version > latest) {
    return absl::FailedPreconditionError(StrCat(
        db.label(), " ", db.path().string(), " has schema version ", *version,
        " but this kring-coordinator knows versions up to ", latest,
        ": a newer kring-coordinator wrote it; run that version (or newer)"));
  }
  if (auto s =
          db.Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER "
                  "PRIMARY KEY, applied_millis BIGINT);");
      !s.ok()) {
    return s;
  }
  if (*version == 1) {
    // A database from before schema_version: its tables are version 1.
    auto st = db.Prepare("SELECT 1 FROM schema_version WHERE version = 1");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row && !steps.empty()) {
      auto ins = db.Prepare(
          "INSERT INTO schema_version(version, applied_millis) VALUES(1, ?)");
      if (!ins.ok()) return ins.status();
      if (auto s = ins->Bind(1, NowMillis()).Run(); !s.ok()) return s;
    }
  }
  for (const Migration& m : steps) {
    if (m.version <= *version) continue;
    if (auto s = Apply(db, m); !s.ok()) return s;
  }
  return tx->Commit();
}

}  // namespace kring::coordinator
