#include "node/audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "crypto/init.h"
#include "storage/audit_chain.h"
#include "storage/database.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using crypto::SecretBytes;

constexpr std::string_view kFormat = "1";
constexpr std::string_view kKeyCheckLabel = "kring-audit-key-check-v1";

storage::ChainNames Names() {
  return {"audit log", "kring-node", "kring-node audit verify"};
}

// The key check stored in the meta table: keyed BLAKE2b-256 of a label.
std::string KeyCheck(const SecretBytes& key) {
  std::string out(storage::AuditChain::kKeyBytes, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(kKeyCheckLabel.data()),
                     kKeyCheckLabel.size(), key.data(), key.size());
  return out;
}

}  // namespace

struct AuditLog::Db {
  std::unique_ptr<storage::Database> sql;
  storage::AuditChain chain;
};

namespace {

// Creates the file with mode 0600 before SQLite opens it, so it is never
// readable by others, not even for a moment.
absl::Status CreatePrivateFile(const std::filesystem::path& path) {
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return absl::PermissionDeniedError(StrCat(
        "cannot create the audit log ", path.string(), ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TableCount(storage::Database& db) {
  auto st = db.Prepare("SELECT count(*) FROM sqlite_master");
  if (!st.ok()) return st.status();
  if (auto row = st->Step(); !row.ok()) return row.status();
  return st->Int(0);
}

// A new, empty file gets the schema, unless another process is creating it
// at the same time.
absl::Status CreateSchemaIfEmpty(storage::Database& db,
                                 storage::AuditChain& chain,
                                 const SecretBytes& key) {
  auto tables = TableCount(db);
  if (!tables.ok() || *tables != 0) return tables.status();
  auto tx =
      storage::Transaction::Begin(db, storage::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  tables = TableCount(db);
  if (!tables.ok() || *tables != 0) return tables.status();
  if (auto s = db.Exec(
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);");
      !s.ok()) {
    return s;
  }
  if (auto s = chain.CreateTables(); !s.ok()) return s;
  for (auto [k, v] : {std::pair<std::string_view, std::string>{
                          "format", std::string(kFormat)},
                      {"key_check", KeyCheck(key)}}) {
    auto st = db.Prepare("INSERT INTO meta(key, value) VALUES(?, ?)");
    if (!st.ok()) return st.status();
    if (auto s = st->BindText(1, k).Bind(2, v).Run(); !s.ok()) return s;
  }
  return tx->Commit();
}

absl::StatusOr<std::string> GetMeta(storage::Database& db,
                                    const storage::AuditChain& chain,
                                    std::string_view key) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key = ?");
  if (!st.ok()) {
    return absl::DataLossError(StrCat("the audit log's meta table cannot be ",
                                      "read (", ToStd(st.status().message()),
                                      "): ", chain.Modified()));
  }
  st->BindText(1, key);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::DataLossError(
        StrCat("the audit log has no \"", key, "\": ", chain.Modified()));
  }
  return std::string(st->Blob(0));
}

// The format and the key check: a log of another format or key is refused.
absl::Status CheckMeta(storage::Database& db, const storage::AuditChain& chain,
                       const SecretBytes& key) {
  const std::string path = db.path().string();
  auto format = GetMeta(db, chain, "format");
  if (!format.ok()) return format.status();
  if (*format != kFormat) {
    return absl::FailedPreconditionError(
        StrCat("the audit log ", path, " has format ", *format,
               "; this kring-node reads format ", kFormat));
  }
  auto check = GetMeta(db, chain, "key_check");
  if (!check.ok()) return check.status();
  const std::string expected = KeyCheck(key);
  if (check->size() != expected.size() ||
      sodium_memcmp(check->data(), expected.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError(
        StrCat("the audit log ", path,
               " was not written under this store's key: it belongs to "
               "another node store, or its key check was modified"));
  }
  return absl::OkStatus();
}

}  // namespace

AuditLog::AuditLog(std::filesystem::path path, std::unique_ptr<Db> db,
                   SecretBytes key, const Clock* clock)
    : path_(std::move(path)),
      db_(std::move(db)),
      key_(std::move(key)),
      clock_(clock) {}

AuditLog::AuditLog(AuditLog&&) noexcept = default;
AuditLog& AuditLog::operator=(AuditLog&&) noexcept = default;
AuditLog::~AuditLog() = default;

absl::StatusOr<AuditLog> AuditLog::Open(const std::filesystem::path& dir,
                                        SecretBytes key, const Clock* clock) {
  if (auto s = crypto::Init(); !s.ok()) return s;
  if (key.size() != storage::AuditChain::kKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("the audit log key must be 32 bytes, got ", key.size()));
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(
        StrCat("no data directory ", dir.string(), " for the audit log"));
  }
  const std::filesystem::path path = dir / kFileName;
  if (auto s = CreatePrivateFile(path); !s.ok()) return s;
  storage::OpenOptions options;
  options.label = "audit log";
  // WAL: an append writes and syncs one log file instead of creating,
  // syncing and deleting a rollback journal each time; FULL keeps every
  // committed entry on disk before Append returns.
  options.setup_sql = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
  auto sql = storage::Database::Open(path, options);
  if (!sql.ok()) return sql.status();
  auto chain = storage::AuditChain::Create(
      sql->get(), storage::ChainFormat::kNode, key.Clone(), Names());
  if (!chain.ok()) return chain.status();
  auto db = std::make_unique<Db>(Db{*std::move(sql), *std::move(chain)});
  if (auto s = CreateSchemaIfEmpty(*db->sql, db->chain, key); !s.ok()) {
    return s;
  }
  if (auto s = CheckMeta(*db->sql, db->chain, key); !s.ok()) return s;
  return AuditLog(path, std::move(db), std::move(key),
                  clock != nullptr ? clock : &SystemClock());
}

absl::Status AuditLog::Append(
    std::string_view kind, std::string_view summary,
    std::vector<std::pair<std::string, std::string>> fields) {
  return db_->chain.Append(clock_->NowUnixSeconds(), kind, summary,
                           std::move(fields));
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Entries() const {
  auto entries = db_->chain.Entries();
  if (!entries.ok()) return entries.status();
  std::vector<AuditEntry> out;
  out.reserve(entries->size());
  for (storage::ChainEntry& e : *entries) {
    out.push_back({e.seq, e.time, std::move(e.kind), std::move(e.summary),
                   std::move(e.fields)});
  }
  return out;
}

absl::StatusOr<bool> AuditLog::Contains(std::string_view kind,
                                        std::string_view name,
                                        std::string_view value) const {
  return db_->chain.Contains(kind, name, value);
}

absl::Status AuditLog::Verify() const { return db_->chain.Verify(); }

}  // namespace kring::node
