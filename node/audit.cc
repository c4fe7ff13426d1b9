#include "node/audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "node/internal/sqlite.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using crypto::SecretBytes;

constexpr size_t kMacBytes = 32;
constexpr std::string_view kFormat = "1";
constexpr std::string_view kEntryLabel = "kring-audit-entry-v1";
constexpr std::string_view kHeadLabel = "kring-audit-head-v1";
constexpr std::string_view kKeyCheckLabel = "kring-audit-key-check-v1";
constexpr std::string_view kModified =
    "the audit log was modified outside kring-node (or is damaged)";

const std::string& ZeroMac() {
  static const std::string zero(kMacBytes, '\0');
  return zero;
}

std::string Mac(const SecretBytes& key, std::string_view message) {
  std::string out(kMacBytes, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), key.data(), key.size());
  return out;
}

bool SameMac(std::string_view a, std::string_view b) {
  return a.size() == kMacBytes && b.size() == kMacBytes &&
         sodium_memcmp(a.data(), b.data(), kMacBytes) == 0;
}

std::string EntryMac(const SecretBytes& key, const AuditEntry& e,
                     std::string_view prev_mac) {
  using crypto::internal::AppendLengthPrefixed;
  std::string m(kEntryLabel);
  crypto::internal::AppendU64(m, e.seq);
  crypto::internal::AppendU64(m, static_cast<uint64_t>(e.unix_time));
  AppendLengthPrefixed(m, e.kind);
  AppendLengthPrefixed(m, e.summary);
  crypto::internal::AppendU32(m, static_cast<uint32_t>(e.fields.size()));
  for (const auto& [name, value] : e.fields) {
    AppendLengthPrefixed(m, name);
    AppendLengthPrefixed(m, value);
  }
  m.append(prev_mac);
  return Mac(key, m);
}

std::string HeadMac(const SecretBytes& key, uint64_t seq,
                    std::string_view mac) {
  std::string m(kHeadLabel);
  crypto::internal::AppendU64(m, seq);
  m.append(mac);
  return Mac(key, m);
}

// Fields are stored as readable text, one "name=value" per line; Append
// keeps '=' out of names and line breaks out of both.
std::string EncodeFields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('\n');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> DecodeFields(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> fields;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view()
                                         : text.substr(eol + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      fields.emplace_back(std::string(line), "");  // damaged; Verify says so
    } else {
      fields.emplace_back(std::string(line.substr(0, eq)),
                          std::string(line.substr(eq + 1)));
    }
  }
  return fields;
}

bool IsText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsWord(std::string_view s, char separator) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == separator))
      return false;
  }
  return true;
}

absl::Status ValidateEntry(
    std::string_view kind, std::string_view summary,
    const std::vector<std::pair<std::string, std::string>>& fields) {
  if (!IsWord(kind, '-')) {
    return absl::InvalidArgumentError(
        StrCat("audit entry kind \"", kind,
               "\" must be a lower-case word (a-z, 0-9, -)"));
  }
  if (summary.empty() || !IsText(summary)) {
    return absl::InvalidArgumentError(
        "an audit entry's summary must be one non-empty line of text");
  }
  std::set<std::string_view> names;
  for (const auto& [name, value] : fields) {
    if (!IsWord(name, '_')) {
      return absl::InvalidArgumentError(
          StrCat("audit field name \"", name,
                 "\" must be a lower-case word (a-z, 0-9, _)"));
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          StrCat("audit field \"", name, "\" is given twice"));
    }
    if (!IsText(value)) {
      return absl::InvalidArgumentError(
          StrCat("audit field \"", name, "\" must be one line of text"));
    }
  }
  return absl::OkStatus();
}

std::string_view View(const void* data, int size) {
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  void Bind(int i, std::string_view blob) {
    sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()),
                      SQLITE_TRANSIENT);
  }
  void BindText(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  std::string_view Blob(int col) {
    return View(sqlite3_column_blob(stmt_, col),
                sqlite3_column_bytes(stmt_, col));
  }
  std::string_view Text(int col) {
    return View(sqlite3_column_text(stmt_, col),
                sqlite3_column_bytes(stmt_, col));
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

struct Head {
  uint64_t seq = 0;
  std::string mac;
};

}  // namespace

struct AuditLog::Db : internal::SqliteHandle {
  Db() : SqliteHandle("audit log") {}

  // Ends a transaction when it goes out of scope, unless committed.
  class Transaction {
   public:
    explicit Transaction(Db* db) : db_(db) {}
    ~Transaction() {
      if (db_ != nullptr) (void)db_->Exec("ROLLBACK;");
    }
    absl::Status Commit() {
      Db* db = db_;
      db_ = nullptr;
      return db->Exec("COMMIT;");
    }

   private:
    Db* db_;
  };

  // The head row, checked against its MAC.
  absl::StatusOr<Head> ReadHead(const SecretBytes& key) {
    Statement st(handle, "SELECT seq, mac, head_mac FROM head WHERE id = 1");
    if (!st.ok()) return Unreadable("head");
    if (st.Step() != SQLITE_ROW) {
      return absl::DataLossError(
          StrCat("the audit log's head (its last entry number) is missing: ",
                 kModified));
    }
    Head head;
    head.seq = static_cast<uint64_t>(st.Int(0));
    head.mac = std::string(st.Blob(1));
    if (!SameMac(st.Blob(2), HeadMac(key, head.seq, head.mac))) {
      return absl::DataLossError(
          StrCat("the audit log's head (saying the last entry is ", head.seq,
                 ") fails authentication: ", kModified));
    }
    return head;
  }

  // A table that cannot be read: dropped or altered by hand, or damaged.
  absl::Status Unreadable(std::string_view table) const {
    return absl::DataLossError(
        StrCat("the audit log's ", table, " cannot be read (",
               sqlite3_errmsg(handle), "): ", kModified));
  }

  absl::StatusOr<std::string> GetMeta(std::string_view key) {
    Statement st(handle, "SELECT value FROM meta WHERE key = ?");
    if (!st.ok()) return Unreadable("meta table");
    st.BindText(1, key);
    if (st.Step() != SQLITE_ROW) {
      return absl::DataLossError(
          StrCat("the audit log has no \"", key, "\": ", kModified));
    }
    return std::string(st.Blob(0));
  }
};

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
  if (key.size() != kMacBytes) {
    return absl::InvalidArgumentError(
        StrCat("the audit log key must be 32 bytes, got ", key.size()));
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(
        StrCat("no data directory ", dir.string(), " for the audit log"));
  }
  const std::filesystem::path path = dir / kFileName;
  // Create the file with mode 0600 before SQLite opens it, so it is never
  // readable by others, not even for a moment.
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return absl::PermissionDeniedError(StrCat(
        "cannot create the audit log ", path.string(), ": ", strerror(errno)));
  }
  auto db = std::make_unique<Db>();
  if (sqlite3_open_v2(path.c_str(), &db->handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return absl::InternalError(StrCat(
        "cannot open the audit log ", path.string(), ": ",
        db->handle != nullptr ? sqlite3_errmsg(db->handle) : "out of memory"));
  }
  sqlite3_busy_timeout(db->handle, 5000);
  // WAL: an append writes and syncs one log file instead of creating,
  // syncing and deleting a rollback journal each time; FULL keeps every
  // committed entry on disk before Append returns.
  if (auto s =
          db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
      !s.ok()) {
    return s;
  }

  auto table_count = [&]() -> absl::StatusOr<int64_t> {
    Statement st(db->handle, "SELECT count(*) FROM sqlite_master");
    if (!st.ok() || st.Step() != SQLITE_ROW) return db->Error("read schema");
    return st.Int(0);
  };
  auto tables = table_count();
  if (!tables.ok()) return tables.status();
  if (*tables == 0) {
    // A new, empty file: create the schema, unless another process is
    // doing so at the same time.
    if (auto s = db->Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
    Db::Transaction tx(db.get());
    tables = table_count();
    if (!tables.ok()) return tables.status();
    if (*tables == 0) {
      if (auto s = db->Exec(
              "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
              "CREATE TABLE entries(seq INTEGER PRIMARY KEY,"
              "  unix_time INTEGER NOT NULL, kind TEXT NOT NULL,"
              "  summary TEXT NOT NULL, fields TEXT NOT NULL,"
              "  mac BLOB NOT NULL);"
              "CREATE TABLE head(id INTEGER PRIMARY KEY CHECK (id = 1),"
              "  seq INTEGER NOT NULL, mac BLOB NOT NULL,"
              "  head_mac BLOB NOT NULL);");
          !s.ok()) {
        return s;
      }
      for (auto [k, v] : {std::pair<std::string_view, std::string>{
                              "format", std::string(kFormat)},
                          {"key_check", Mac(key, kKeyCheckLabel)}}) {
        Statement st(db->handle, "INSERT INTO meta(key, value) VALUES(?, ?)");
        st.BindText(1, k);
        st.Bind(2, v);
        if (st.Step() != SQLITE_DONE) return db->Error("create");
      }
      Statement head(db->handle,
                     "INSERT INTO head(id, seq, mac, head_mac) "
                     "VALUES(1, 0, ?, ?)");
      head.Bind(1, ZeroMac());
      head.Bind(2, HeadMac(key, 0, ZeroMac()));
      if (head.Step() != SQLITE_DONE) return db->Error("create");
    }
    if (auto s = tx.Commit(); !s.ok()) return s;
  }

  auto format = db->GetMeta("format");
  if (!format.ok()) return format.status();
  if (*format != kFormat) {
    return absl::FailedPreconditionError(
        StrCat("the audit log ", path.string(), " has format ", *format,
               "; this kring-node reads format ", kFormat));
  }
  auto check = db->GetMeta("key_check");
  if (!check.ok()) return check.status();
  if (!SameMac(*check, Mac(key, kKeyCheckLabel))) {
    return absl::PermissionDeniedError(
        StrCat("the audit log ", path.string(),
               " was not written under this store's key: it belongs to "
               "another node store, or its key check was modified"));
  }
  return AuditLog(path, std::move(db), std::move(key),
                  clock != nullptr ? clock : &SystemClock());
}

absl::Status AuditLog::Append(
    std::string_view kind, std::string_view summary,
    std::vector<std::pair<std::string, std::string>> fields) {
  if (auto s = ValidateEntry(kind, summary, fields); !s.ok()) return s;
  if (auto s = db_->Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  Db::Transaction tx(db_.get());
  auto head = db_->ReadHead(key_);
  if (!head.ok()) {
    return absl::DataLossError(StrCat(ToStd(head.status().message()),
                                      "; nothing was appended. Run "
                                      "`kring-node audit verify`"));
  }
  AuditEntry e;
  e.seq = head->seq + 1;
  e.unix_time = clock_->NowUnixSeconds();
  e.kind = std::string(kind);
  e.summary = std::string(summary);
  e.fields = std::move(fields);
  const std::string mac = EntryMac(key_, e, head->mac);
  {
    Statement ins(db_->handle,
                  "INSERT INTO entries(seq, unix_time, kind, summary, fields, "
                  "mac) VALUES(?, ?, ?, ?, ?, ?)");
    if (!ins.ok()) return db_->Error("prepare append");
    ins.Bind(1, static_cast<int64_t>(e.seq));
    ins.Bind(2, e.unix_time);
    ins.BindText(3, e.kind);
    ins.BindText(4, e.summary);
    ins.BindText(5, EncodeFields(e.fields));
    ins.Bind(6, mac);
    const int rc = ins.Step();
    if (rc == SQLITE_CONSTRAINT) {
      return absl::DataLossError(
          StrCat("audit entry ", e.seq, " exists although the head says the ",
                 "log ends at entry ", head->seq, ": ", kModified,
                 "; nothing was appended. Run `kring-node audit verify`"));
    }
    if (rc != SQLITE_DONE) return db_->Error("append");
  }
  {
    Statement upd(
        db_->handle,
        "UPDATE head SET seq = ?, mac = ?, head_mac = ? WHERE id = 1");
    upd.Bind(1, static_cast<int64_t>(e.seq));
    upd.Bind(2, mac);
    upd.Bind(3, HeadMac(key_, e.seq, mac));
    if (upd.Step() != SQLITE_DONE) return db_->Error("append");
  }
  return tx.Commit();
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Entries() const {
  Statement st(db_->handle,
               "SELECT seq, unix_time, kind, summary, fields FROM entries "
               "ORDER BY seq");
  if (!st.ok()) return db_->Unreadable("entries");
  std::vector<AuditEntry> entries;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    AuditEntry& e = entries.emplace_back();
    e.seq = static_cast<uint64_t>(st.Int(0));
    e.unix_time = st.Int(1);
    e.kind = std::string(st.Text(2));
    e.summary = std::string(st.Text(3));
    e.fields = DecodeFields(st.Text(4));
  }
  if (rc != SQLITE_DONE) return db_->Error("read entries");
  return entries;
}

absl::StatusOr<bool> AuditLog::Contains(std::string_view kind,
                                        std::string_view name,
                                        std::string_view value) const {
  Statement st(db_->handle, "SELECT fields FROM entries WHERE kind = ?");
  if (!st.ok()) return db_->Unreadable("entries");
  st.BindText(1, kind);
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    for (const auto& [n, v] : DecodeFields(st.Text(0))) {
      if (n == name && v == value) return true;
    }
  }
  if (rc != SQLITE_DONE) return db_->Error("read entries");
  return false;
}

absl::Status AuditLog::Verify() const {
  // One read transaction, so that an append by another process cannot fall
  // between reading the head and reading the entries.
  if (auto s = db_->Exec("BEGIN;"); !s.ok()) return s;
  Db::Transaction tx(db_.get());
  auto head = db_->ReadHead(key_);
  if (!head.ok()) return head.status();
  Statement st(db_->handle,
               "SELECT seq, unix_time, kind, summary, fields, mac "
               "FROM entries ORDER BY seq");
  if (!st.ok()) return db_->Unreadable("entries");
  uint64_t expected = 1;
  std::string prev = ZeroMac();
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    const int64_t seq = st.Int(0);
    if (seq < 1) {
      return absl::DataLossError(
          StrCat("audit entry ", seq, " was inserted: ", kModified));
    }
    if (expected > head->seq) {
      return absl::DataLossError(
          StrCat("audit entry ", seq, " was added after the last entry (",
                 head->seq, ") without the log's key: ", kModified));
    }
    if (static_cast<uint64_t>(seq) != expected) {
      const uint64_t last_missing = static_cast<uint64_t>(seq) - 1;
      return absl::DataLossError(
          last_missing == expected
              ? StrCat("audit entry ", expected, " was removed: ", kModified)
              : StrCat("audit entries ", expected, " to ", last_missing,
                       " were removed: ", kModified));
    }
    AuditEntry e;
    e.seq = expected;
    e.unix_time = st.Int(1);
    e.kind = std::string(st.Text(2));
    e.summary = std::string(st.Text(3));
    const std::string_view fields_text = st.Text(4);
    e.fields = DecodeFields(fields_text);
    const std::string mac = EntryMac(key_, e, prev);
    if (EncodeFields(e.fields) != fields_text || !SameMac(st.Blob(5), mac)) {
      return absl::DataLossError(
          StrCat("audit entry ", expected,
                 " fails authentication: it was edited, replaced or moved; ",
                 kModified));
    }
    prev = mac;
    ++expected;
  }
  if (rc != SQLITE_DONE) return db_->Error("read entries");
  if (expected <= head->seq) {
    return absl::DataLossError(
        expected == head->seq
            ? StrCat("audit entry ", expected,
                     ", the last one, was removed: ", kModified)
            : StrCat("audit entries ", expected, " to ", head->seq,
                     ", the last ones, were removed: ", kModified));
  }
  if (!SameMac(head->mac, prev)) {
    return absl::DataLossError(
        StrCat("the audit log's head does not match entry ", head->seq, ": ",
               kModified));
  }
  return tx.Commit();
}

}  // namespace kring::node
