#ifndef KRING_STORAGE_DATABASE_H_
#define KRING_STORAGE_DATABASE_H_

// The project's one SQL wrapper, over SQLiteC++ (and, for the
// coordinator's store, libpq): a connection, prepared statements and
// transactions whose errors are absl::Status values (no exception leaves
// this library). Every message starts with the database's label and file
// (or connection string without its password) and says what to do where
// there is something to do.
//
// PostgreSQL takes the same calls as SQLite: `?` placeholders are numbered
// for it, Bind(blob) sends bytes (for BYTEA), BindText text and Bind(int)
// a number whose type the statement infers. SQL text itself must be
// portable (e.g. INSERT ... ON CONFLICT, not INSERT OR REPLACE).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace kring::storage {
namespace internal {
class PgConnection;
struct PgStatement;
}  // namespace internal

class Database;

enum class Dialect { kSqlite, kPostgres };

// True iff `database` is a PostgreSQL connection URL (postgresql:// or
// postgres://).
bool IsPostgresUrl(std::string_view database);

// `url` with its password (user:PASSWORD@ or password=...) replaced by
// "***", for messages and logs.
std::string RedactConnectionString(std::string_view url);

// A prepared statement. Binding errors are kept and returned by the next
// Step or Run. Not thread-safe; must not outlive its Database.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  // Binds parameter `index` (1-based) to a BLOB, TEXT or INTEGER copy.
  Statement& Bind(int index, std::string_view blob);
  Statement& BindText(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);

  // Steps once: true with a row to read, false when done. A constraint
  // violation is ALREADY_EXISTS; a locked database UNAVAILABLE; a damaged
  // file DATA_LOSS; anything else INTERNAL.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows to completion (errors as Step).
  absl::Status Run();
  // Makes the statement ready to run again and clears its bindings.
  void Reset();

  // Columns of the current row (0-based); empty or 0 for NULL or for a
  // column that does not exist. Views stay valid until the next Step/Reset.
  std::string_view Blob(int column) const;
  std::string_view Text(int column) const { return Blob(column); }
  int64_t Int(int column) const;

 private:
  friend class Database;
  Statement(const Database* db, std::unique_ptr<SQLite::Statement> statement);
  Statement(const Database* db, std::unique_ptr<internal::PgStatement> pg);

  const Database* db_;
  std::unique_ptr<SQLite::Statement> statement_;
  std::unique_ptr<internal::PgStatement> pg_;
  absl::Status bind_status_;
};

struct OpenOptions {
  // Starts every message, e.g. "node database".
  std::string label = "database";
  // Create the file if it does not exist (otherwise opening a missing
  // file fails).
  bool create = false;
  // How long to wait for another connection's lock before UNAVAILABLE.
  int busy_timeout_ms = 5000;
  // Statements (typically PRAGMAs) run right after opening, e.g.
  // "PRAGMA journal_mode = WAL;".
  std::string setup_sql;
};

// One SQLite connection. Thread-compatible: callers serialise access.
class Database {
 public:
  // Opens `path`; errors name the file (see Statement::Step for codes).
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::filesystem::path& path, const OpenOptions& options);
  // Connects to PostgreSQL at `url` (IsPostgresUrl); `options.create` and
  // `busy_timeout_ms` do not apply. Messages name the URL without its
  // password. UNAVAILABLE when the server cannot be reached,
  // PERMISSION_DENIED for a refused login, NOT_FOUND for a missing database.
  static absl::StatusOr<std::unique_ptr<Database>> OpenPostgres(
      const std::string& url, const OpenOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  absl::Status Exec(std::string_view sql);
  // Prepares one statement; a syntax error or a missing table is INTERNAL
  // naming SQLite's reason.
  absl::StatusOr<Statement> Prepare(std::string_view sql);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  int64_t LastInsertRowid() const;

  // The file, or for PostgreSQL the URL without its password.
  const std::filesystem::path& path() const { return path_; }
  const std::string& label() const { return label_; }
  Dialect dialect() const {
    return pg_ ? Dialect::kPostgres : Dialect::kSqlite;
  }

  // "<label> <path>: cannot <what>: <reason>[; <what to do>]", with the
  // code that fits SQLite's result code `code` (see Statement::Step).
  absl::Status Error(int code, std::string_view what,
                     std::string_view reason) const;

 private:
  friend class Statement;
  friend class Transaction;
  Database(std::filesystem::path path, std::string label,
           std::unique_ptr<SQLite::Database> db);

  std::filesystem::path path_;
  std::string label_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<internal::PgConnection> pg_;
};

// A transaction, rolled back when it goes out of scope uncommitted.
// Move-only; must not outlive its Database.
class Transaction {
 public:
  enum class Mode {
    kDeferred,   // BEGIN: a read transaction until the first write
    kImmediate,  // BEGIN IMMEDIATE: takes the write lock at once
  };
  // PostgreSQL: kDeferred is BEGIN ISOLATION LEVEL REPEATABLE READ (one
  // snapshot), kImmediate BEGIN plus a transaction-level advisory lock that
  // serialises every kImmediate transaction on the database, as SQLite's
  // write lock does.
  static absl::StatusOr<Transaction> Begin(Database& db, Mode mode);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // Commits. If COMMIT fails the transaction is rolled back, so nothing of
  // it is kept and the connection is usable again.
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed, rolled back or moved from
};

}  // namespace kring::storage

#endif  // KRING_STORAGE_DATABASE_H_
