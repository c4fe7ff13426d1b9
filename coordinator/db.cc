#include "coordinator/db.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "util/file.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

// BLAKE2b-256, keyed when `key` is not empty.
std::string Hash(std::string_view data, std::string_view key = {}) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                     reinterpret_cast<const uint8_t*>(key.data()), key.size());
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += StrCat(out.empty() ? "" : ",", s);
  return out;
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return st_ != nullptr; }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Text(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(st_); }
  int64_t Int(int c) { return sqlite3_column_int64(st_, c); }
  std::string Str(int c) {
    const void* p = sqlite3_column_blob(st_, c);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace

struct CoordinatorDb::Impl {
  sqlite3* db = nullptr;
  std::mutex mu;
  // MAC key of the audit chain (audit.key, 0600, next to the database).
  std::string audit_key;
  ~Impl() {
    sqlite3_close(db);
    sodium_memzero(audit_key.data(), audit_key.size());
  }

  absl::Status Error(std::string_view what) {
    return absl::InternalError(
        StrCat("coordinator database: ", what, ": ", sqlite3_errmsg(db)));
  }
  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return absl::InternalError(StrCat("coordinator database: ", msg));
    }
    return absl::OkStatus();
  }
  // Runs a statement that returns no rows.
  absl::Status Done(Stmt& st, std::string_view what) {
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) {
      return absl::AlreadyExistsError(StrCat(what, ": already exists"));
    }
    if (rc != SQLITE_DONE) return Error(what);
    return absl::OkStatus();
  }
};

CoordinatorDb::CoordinatorDb(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
CoordinatorDb::~CoordinatorDb() = default;

absl::StatusOr<std::unique_ptr<CoordinatorDb>> CoordinatorDb::Open(
    const std::filesystem::path& dir, bool create) {
  if (sodium_init() < 0) return absl::InternalError("libsodium init failed");
  const auto path = dir / "coordinator.db";
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (create && exists) {
    return absl::AlreadyExistsError(
        StrCat("a coordinator already exists in ", dir.string()));
  }
  if (!create && !exists) {
    return absl::NotFoundError(
        StrCat("no coordinator in ", dir.string(),
               "; create one with `kring-coordinator init --data-dir ",
               dir.string(), "`"));
  }
  if (create) {
    std::filesystem::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0700);
  }
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE |
                          (create ? SQLITE_OPEN_CREATE : 0) |
                          SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return absl::UnavailableError(
        StrCat("cannot open ", path.string(), ": ",
               impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  }
  ::chmod(path.c_str(), 0600);
  sqlite3_busy_timeout(impl->db, 5000);
  // The audit chain's MAC key: without it nobody can rewrite the log and
  // recompute the chain.
  const auto key_path = dir / "audit.key";
  if (create) {
    std::string key(32, '\0');
    randombytes_buf(key.data(), key.size());
    {
      std::ofstream out(key_path, std::ios::binary);
      out << key;
    }
    ::chmod(key_path.c_str(), 0600);
    impl->audit_key = std::move(key);
  } else {
    struct stat st {};
    if (::stat(key_path.c_str(), &st) != 0) {
      return absl::NotFoundError(StrCat(
          key_path.string(), " is missing: the audit log cannot be checked"));
    }
    if ((st.st_mode & 077) != 0) {
      return absl::PermissionDeniedError(
          StrCat(key_path.string(), " is readable by others; chmod 600 it"));
    }
    auto key = ReadFileToString(key_path);
    if (!key.ok() || key->size() != 32) {
      return absl::DataLossError(StrCat(key_path.string(), " is damaged"));
    }
    impl->audit_key = *std::move(key);
  }
  if (auto s = impl->Exec("PRAGMA journal_mode = WAL;"
                          "PRAGMA synchronous = NORMAL;");
      !s.ok()) {
    return s;
  }
  if (create) {
    if (auto s = impl->Exec(
            "BEGIN;"
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
            "  kind TEXT, summary TEXT, hash BLOB);"
            "COMMIT;");
        !s.ok()) {
      return s;
    }
  }
  return std::unique_ptr<CoordinatorDb>(new CoordinatorDb(std::move(impl)));
}

absl::Status CoordinatorDb::AddEnrollmentCode(std::string_view code,
                                              const School& school,
                                              int64_t expires_millis) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "INSERT INTO codes(code_hash, brin, name, municipality, expires, "
          "used) VALUES(?, ?, ?, ?, ?, 0)");
  st.Bind(1, Hash(code))
      .Text(2, school.brin)
      .Text(3, school.name)
      .Text(4, school.municipality)
      .Bind(5, expires_millis);
  return impl_->Done(st, "enrollment code");
}

absl::StatusOr<School> CoordinatorDb::RedeemEnrollmentCode(
    std::string_view code, int64_t now_millis) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT brin, name, municipality, expires, used FROM codes "
          "WHERE code_hash = ?");
  st.Bind(1, Hash(code));
  if (st.Step() != SQLITE_ROW || st.Int(4) != 0 || st.Int(3) < now_millis) {
    return absl::NotFoundError(
        "this enrollment code is unknown, already used or expired; ask the "
        "coordinator's operator for a new one");
  }
  School s;
  s.brin = st.Str(0);
  s.name = st.Str(1);
  s.municipality = st.Str(2);
  Stmt use(impl_->db, "UPDATE codes SET used = 1 WHERE code_hash = ?");
  use.Bind(1, Hash(code));
  if (auto status = impl_->Done(use, "use enrollment code"); !status.ok()) {
    return status;
  }
  return s;
}

absl::Status CoordinatorDb::PutSchool(const School& s) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "INSERT OR REPLACE INTO schools(school_id, brin, name, "
          "municipality, identity_key, version, last_seen) "
          "VALUES(?, ?, ?, ?, ?, ?, ?)");
  st.Text(1, s.school_id)
      .Text(2, s.brin)
      .Text(3, s.name)
      .Text(4, s.municipality)
      .Bind(5, s.identity_key)
      .Text(6, s.version)
      .Bind(7, s.last_seen_millis);
  return impl_->Done(st, "school");
}

namespace {
School ReadSchool(Stmt& st) {
  School s;
  s.school_id = st.Str(0);
  s.brin = st.Str(1);
  s.name = st.Str(2);
  s.municipality = st.Str(3);
  s.identity_key = st.Str(4);
  s.version = st.Str(5);
  s.last_seen_millis = st.Int(6);
  return s;
}
constexpr const char* kSchoolColumns =
    "SELECT school_id, brin, name, municipality, identity_key, version, "
    "last_seen FROM schools";
}  // namespace

absl::StatusOr<School> CoordinatorDb::GetSchool(std::string_view school_id) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, StrCat(kSchoolColumns, " WHERE school_id = ?").c_str());
  st.Text(1, school_id);
  if (st.Step() != SQLITE_ROW) {
    return absl::NotFoundError(StrCat("no school ", school_id));
  }
  return ReadSchool(st);
}

absl::StatusOr<std::vector<School>> CoordinatorDb::ListSchools() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, StrCat(kSchoolColumns, " ORDER BY school_id").c_str());
  std::vector<School> out;
  while (st.Step() == SQLITE_ROW) out.push_back(ReadSchool(st));
  return out;
}

absl::Status CoordinatorDb::TouchSchool(std::string_view school_id,
                                        std::string_view version,
                                        int64_t millis) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "UPDATE schools SET version = ?, last_seen = ? WHERE school_id = ?");
  st.Text(1, version).Bind(2, millis).Text(3, school_id);
  return impl_->Done(st, "school last seen");
}

absl::Status CoordinatorDb::AddUser(const User& u) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "INSERT INTO users(user_id, role, public_key, municipalities) "
          "VALUES(?, ?, ?, ?)");
  st.Text(1, u.user_id)
      .Bind(2, static_cast<int64_t>(u.role))
      .Bind(3, u.public_key)
      .Text(4, Join(u.municipalities));
  auto s = impl_->Done(st, StrCat("user ", u.user_id));
  return s;
}

absl::StatusOr<User> CoordinatorDb::GetUser(std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT user_id, role, public_key, municipalities FROM users "
          "WHERE user_id = ?");
  st.Text(1, user_id);
  if (st.Step() != SQLITE_ROW) {
    return absl::NotFoundError(StrCat("no user ", user_id));
  }
  User u;
  u.user_id = st.Str(0);
  u.role = static_cast<v1::Role>(st.Int(1));
  u.public_key = st.Str(2);
  u.municipalities = Split(st.Str(3));
  return u;
}

absl::StatusOr<std::vector<User>> CoordinatorDb::ListUsers() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT user_id, role, public_key, municipalities FROM users "
          "ORDER BY user_id");
  std::vector<User> out;
  while (st.Step() == SQLITE_ROW) {
    User u;
    u.user_id = st.Str(0);
    u.role = static_cast<v1::Role>(st.Int(1));
    u.public_key = st.Str(2);
    u.municipalities = Split(st.Str(3));
    out.push_back(std::move(u));
  }
  return out;
}

absl::Status CoordinatorDb::PutQuery(const v1::QueryInfo& q) {
  std::lock_guard lock(impl_->mu);
  Stmt up(impl_->db, "UPDATE queries SET info = ? WHERE query_id = ?");
  up.Bind(1, q.SerializeAsString()).Text(2, q.ticket().query_id());
  if (auto s = impl_->Done(up, "query"); !s.ok()) return s;
  if (sqlite3_changes(impl_->db) > 0) return absl::OkStatus();
  Stmt ins(impl_->db, "INSERT INTO queries(query_id, info) VALUES(?, ?)");
  ins.Text(1, q.ticket().query_id()).Bind(2, q.SerializeAsString());
  return impl_->Done(ins, "query");
}

absl::StatusOr<v1::QueryInfo> CoordinatorDb::GetQuery(
    std::string_view query_id) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT info FROM queries WHERE query_id = ?");
  st.Text(1, query_id);
  v1::QueryInfo q;
  if (st.Step() != SQLITE_ROW || !q.ParseFromString(st.Str(0))) {
    return absl::NotFoundError(StrCat("no query ", query_id));
  }
  return q;
}

absl::StatusOr<std::vector<v1::QueryInfo>> CoordinatorDb::ListQueries() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT info FROM queries ORDER BY seq");
  std::vector<v1::QueryInfo> out;
  while (st.Step() == SQLITE_ROW) {
    v1::QueryInfo q;
    if (!q.ParseFromString(st.Str(0))) {
      return absl::DataLossError("a stored query cannot be read");
    }
    out.push_back(std::move(q));
  }
  return out;
}

absl::Status CoordinatorDb::PutResult(std::string_view query_id,
                                      std::string_view table,
                                      std::string_view json,
                                      std::string_view csv) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "INSERT OR REPLACE INTO results(query_id, tbl, json, csv) "
          "VALUES(?, ?, ?, ?)");
  st.Text(1, query_id).Text(2, table).Text(3, json).Text(4, csv);
  return impl_->Done(st, "result");
}

absl::StatusOr<std::string> CoordinatorDb::GetResult(std::string_view query_id,
                                                     v1::ResultFormat format) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT tbl, json, csv FROM results WHERE query_id = ?");
  st.Text(1, query_id);
  if (st.Step() != SQLITE_ROW) {
    return absl::NotFoundError(StrCat("no result for query ", query_id));
  }
  switch (format) {
    case v1::RESULT_FORMAT_TABLE:
      return st.Str(0);
    case v1::RESULT_FORMAT_CSV:
      return st.Str(2);
    default:
      return st.Str(1);
  }
}

absl::Status CoordinatorDb::Grant(std::string_view query_id,
                                  std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "INSERT OR IGNORE INTO grants(query_id, user_id) VALUES(?, ?)");
  st.Text(1, query_id).Text(2, user_id);
  return impl_->Done(st, "grant");
}

absl::StatusOr<bool> CoordinatorDb::IsGranted(std::string_view query_id,
                                              std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT 1 FROM grants WHERE query_id = ? AND user_id = ?");
  st.Text(1, query_id).Text(2, user_id);
  return st.Step() == SQLITE_ROW;
}

absl::Status CoordinatorDb::AppendLedger(std::string_view entry_json) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "INSERT INTO ledger(entry) VALUES(?)");
  st.Text(1, entry_json);
  return impl_->Done(st, "ledger");
}

absl::StatusOr<std::vector<std::string>> CoordinatorDb::LoadLedger() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT entry FROM ledger ORDER BY seq");
  std::vector<std::string> out;
  while (st.Step() == SQLITE_ROW) out.push_back(st.Str(0));
  return out;
}

namespace {
std::string AuditHash(std::string_view key, const std::string& prev,
                      uint64_t seq, int64_t millis, std::string_view kind,
                      std::string_view summary) {
  std::string data = prev;
  data += StrCat("|", seq, "|", millis, "|", kind.size(), ":", kind, "|",
                 summary.size(), ":", summary);
  return Hash(data, key);
}
}  // namespace

absl::Status CoordinatorDb::Audit(std::string_view kind,
                                  std::string_view summary) {
  std::lock_guard lock(impl_->mu);
  std::string prev(32, '\0');
  uint64_t seq = 1;
  {
    Stmt last(impl_->db, "SELECT seq, hash FROM audit ORDER BY seq DESC");
    if (last.Step() == SQLITE_ROW) {
      seq = static_cast<uint64_t>(last.Int(0)) + 1;
      prev = last.Str(1);
    }
  }
  const int64_t millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  Stmt st(impl_->db,
          "INSERT INTO audit(seq, millis, kind, summary, hash) "
          "VALUES(?, ?, ?, ?, ?)");
  st.Bind(1, static_cast<int64_t>(seq))
      .Bind(2, millis)
      .Text(3, kind)
      .Text(4, summary)
      .Bind(5, AuditHash(impl_->audit_key, prev, seq, millis, kind, summary));
  return impl_->Done(st, "audit");
}

absl::StatusOr<std::vector<AuditRecord>> CoordinatorDb::AuditLog() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT seq, millis, kind, summary FROM audit ORDER BY seq");
  std::vector<AuditRecord> out;
  while (st.Step() == SQLITE_ROW) {
    out.push_back(
        {static_cast<uint64_t>(st.Int(0)), st.Int(1), st.Str(2), st.Str(3)});
  }
  return out;
}

absl::Status CoordinatorDb::VerifyAudit() {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT seq, millis, kind, summary, hash FROM audit ORDER BY seq");
  std::string prev(32, '\0');
  uint64_t expected = 1;
  while (st.Step() == SQLITE_ROW) {
    const uint64_t seq = static_cast<uint64_t>(st.Int(0));
    if (seq != expected || AuditHash(impl_->audit_key, prev, seq, st.Int(1),
                                     st.Str(2), st.Str(3)) != st.Str(4)) {
      return absl::DataLossError(StrCat(
          "the coordinator's audit log was altered at entry ", expected));
    }
    prev = st.Str(4);
    ++expected;
  }
  return absl::OkStatus();
}

}  // namespace kring::coordinator
