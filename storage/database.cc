#include "storage/database.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <utility>

#include "storage/internal/postgres.h"
#include "util/str_cat.h"

namespace kring::storage {
namespace {

// The status code and advice for an SQLite result code.
std::pair<absl::StatusCode, std::string_view> Classify(int code) {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return {absl::StatusCode::kAlreadyExists, ""};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {absl::StatusCode::kUnavailable,
              "; another process holds it locked: try again shortly"};
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return {absl::StatusCode::kDataLoss,
              "; the file is damaged or not a database: restore it from a "
              "backup"};
    case SQLITE_FULL:
      return {absl::StatusCode::kResourceExhausted,
              "; the disk is full: free some space and try again"};
    case SQLITE_IOERR:
      if (code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC ||
          code == SQLITE_IOERR_TRUNCATE || code == SQLITE_IOERR_SHMSIZE) {
        return {absl::StatusCode::kResourceExhausted,
                "; could not write to the disk: it may be full (or the file "
                "over a size limit): free some space and try again"};
      }
      return {absl::StatusCode::kUnavailable,
              "; reading or writing the disk failed: check the disk and its "
              "free space"};
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return {absl::StatusCode::kPermissionDenied,
              "; check that the file and its directory exist and are "
              "writable by this user"};
    default:
      return {absl::StatusCode::kInternal, ""};
  }
}

// What a failed statement was doing, for messages: its SQL (never the
// bound values), shortened.
std::string Doing(std::string_view verb, std::string_view sql) {
  constexpr size_t kMax = 80;
  const bool cut = sql.size() > kMax;
  return StrCat(verb, " \"", sql.substr(0, kMax), cut ? "...\"" : "\"");
}

// The advisory lock key that serialises kImmediate transactions on
// PostgreSQL ("kring-tx" in ASCII).
constexpr int64_t kImmediateLockKey = 0x6b72696e672d7478;

}  // namespace

bool IsPostgresUrl(std::string_view database) {
  return database.starts_with("postgresql://") ||
         database.starts_with("postgres://");
}

std::string RedactConnectionString(std::string_view url) {
  std::string out(url);
  // user:password@host
  const size_t scheme = out.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t at = out.find('@', start);
  const size_t slash = out.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ?password=... or &password=...
  for (size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    const size_t value = p + 9;
    const size_t end = out.find_first_of("& ", value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value,
                "***");
  }
  return out;
}

// --- Database ---------------------------------------------------------

Database::Database(std::filesystem::path path, std::string label,
                   std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), label_(std::move(label)), db_(std::move(db)) {}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::filesystem::path& path, const OpenOptions& options) {
  std::unique_ptr<SQLite::Database> db;
  try {
    db = std::make_unique<SQLite::Database>(
        path.string(),
        SQLite::OPEN_READWRITE | (options.create ? SQLite::OPEN_CREATE : 0),
        options.busy_timeout_ms);
  } catch (const SQLite::Exception& e) {
    const auto [code, advice] = Classify(e.getExtendedErrorCode());
    return absl::Status(code, StrCat(options.label, " ", path.string(),
                                     ": cannot open: ", e.what(), advice));
  }
  auto out = std::unique_ptr<Database>(
      new Database(path, options.label, std::move(db)));
  if (!options.setup_sql.empty()) {
    if (auto s = out->Exec(options.setup_sql); !s.ok()) return s;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Database>> Database::OpenPostgres(
    const std::string& url, const OpenOptions& options) {
  const std::string where = RedactConnectionString(url);
  auto pg = internal::PgConnection::Connect(url, options.label, where);
  if (!pg.ok()) return pg.status();
  auto out =
      std::unique_ptr<Database>(new Database(where, options.label, nullptr));
  out->pg_ = *std::move(pg);
  if (!options.setup_sql.empty()) {
    if (auto s = out->Exec(options.setup_sql); !s.ok()) return s;
  }
  return out;
}

absl::Status Database::Error(int code, std::string_view what,
                             std::string_view reason) const {
  const auto [status_code, advice] = Classify(code);
  return absl::Status(
      status_code, StrCat(label_, " ", path_.string(), ": cannot ", what, ": ",
                          reason, advice));
}

absl::Status Database::Exec(std::string_view sql) {
  if (pg_) return pg_->Exec(sql);
  try {
    db_->exec(std::string(sql));
  } catch (const SQLite::Exception& e) {
    return Error(e.getExtendedErrorCode(), Doing("run", sql), e.what());
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(std::string_view sql) {
  if (pg_) {
    auto st = std::make_unique<internal::PgStatement>();
    st->sql = internal::NumberPlaceholders(sql);
    return Statement(this, std::move(st));
  }
  try {
    return Statement(
        this, std::make_unique<SQLite::Statement>(*db_, std::string(sql)));
  } catch (const SQLite::Exception& e) {
    return Error(e.getExtendedErrorCode(), Doing("prepare", sql), e.what());
  }
}

int64_t Database::Changes() const {
  return pg_ ? pg_->changes() : db_->getChanges();
}

int64_t Database::LastInsertRowid() const {
  return pg_ ? 0 : db_->getLastInsertRowid();
}

// --- Statement --------------------------------------------------------

Statement::Statement(const Database* db,
                     std::unique_ptr<SQLite::Statement> statement)
    : db_(db), statement_(std::move(statement)) {}

Statement::Statement(const Database* db,
                     std::unique_ptr<internal::PgStatement> pg)
    : db_(db), pg_(std::move(pg)) {}

Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;
Statement::~Statement() = default;

namespace {

// Runs a binding, keeping the first error in `status`.
template <typename F>
void Guard(const Database& db, absl::Status& status, F bind) {
  if (!status.ok()) return;
  try {
    bind();
  } catch (const SQLite::Exception& e) {
    status = db.Error(e.getExtendedErrorCode(), "bind a value", e.what());
  }
}

}  // namespace

Statement& Statement::Bind(int index, std::string_view blob) {
  if (pg_) {
    pg_->Set(index, std::string(blob), /*is_binary=*/true);
    return *this;
  }
  Guard(*db_, bind_status_, [&] {
    statement_->bind(index, blob.data(), static_cast<int>(blob.size()));
  });
  return *this;
}

Statement& Statement::BindText(int index, std::string_view text) {
  if (pg_) {
    pg_->Set(index, std::string(text), /*is_binary=*/false);
    return *this;
  }
  Guard(*db_, bind_status_,
        [&] { statement_->bind(index, std::string(text)); });
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (pg_) {
    pg_->Set(index, std::to_string(value), /*is_binary=*/false);
    return *this;
  }
  Guard(*db_, bind_status_, [&] { statement_->bind(index, value); });
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  if (pg_) {
    if (pg_->result == nullptr) {
      auto result = db_->pg_->Run(pg_->sql, pg_->params, pg_->binary);
      if (!result.ok()) return result.status();
      pg_->result = *result;
    }
    return ++pg_->row < PQntuples(pg_->result);
  }
  try {
    return statement_->executeStep();
  } catch (const SQLite::Exception& e) {
    return db_->Error(e.getExtendedErrorCode(),
                      Doing("run", statement_->getQuery()), e.what());
  }
}

absl::Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Statement::Reset() {
  bind_status_ = absl::OkStatus();
  if (pg_) {
    pg_->Clear();
    pg_->params.clear();
    pg_->binary.clear();
    return;
  }
  statement_->tryReset();
  try {
    statement_->clearBindings();
  } catch (const SQLite::Exception&) {
    // sqlite3_clear_bindings cannot fail; nothing to report.
  }
  bind_status_ = absl::OkStatus();
}

std::string_view Statement::Blob(int column) const {
  if (pg_) return pg_->Value(column);
  try {
    const SQLite::Column c = statement_->getColumn(column);
    const void* data = c.getBlob();
    if (data == nullptr) return {};
    return {static_cast<const char*>(data), static_cast<size_t>(c.getBytes())};
  } catch (const SQLite::Exception&) {
    return {};  // no such column, or no current row
  }
}

int64_t Statement::Int(int column) const {
  if (pg_) return pg_->Int(column);
  try {
    return statement_->getColumn(column).getInt64();
  } catch (const SQLite::Exception&) {
    return 0;
  }
}

// --- Transaction ------------------------------------------------------

absl::StatusOr<Transaction> Transaction::Begin(Database& db, Mode mode) {
  if (db.pg_) {
    const std::string begin =
        mode == Mode::kImmediate
            ? StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kImmediateLockKey,
                     ");")
            : std::string("BEGIN ISOLATION LEVEL REPEATABLE READ;");
    if (auto s = db.Exec(begin); !s.ok()) {
      (void)db.Exec("ROLLBACK;");
      return s;
    }
    db.pg_->set_in_transaction(true);
    return Transaction(&db);
  }
  if (auto s =
          db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE;" : "BEGIN;");
      !s.ok()) {
    return s;
  }
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  (void)db_->Exec("ROLLBACK;");
  if (db_->pg_) db_->pg_->set_in_transaction(false);
}

absl::Status Transaction::Commit() {
  Database* db = std::exchange(db_, nullptr);
  if (db == nullptr) {
    return absl::FailedPreconditionError(
        "the transaction was already committed or rolled back");
  }
  if (db->pg_) {
    auto s = db->pg_->Commit();
    if (!s.ok()) (void)db->Exec("ROLLBACK;");
    db->pg_->set_in_transaction(false);
    return s;
  }
  auto s = db->Exec("COMMIT;");
  if (!s.ok()) (void)db->Exec("ROLLBACK;");
  return s;
}

}  // namespace kring::storage
