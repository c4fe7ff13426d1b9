#include "coordinator/db.h"

#include <sodium.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/db_migrations.h"
#include "crypto/internal/files.h"
#include "storage/audit_chain.h"
#include "storage/database.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

using storage::Statement;

constexpr size_t kAuditKeyBytes = storage::AuditChain::kKeyBytes;

// BLAKE2b-256 (enrollment codes are stored only hashed).
std::string Hash(std::string_view data) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                     nullptr, 0);
  return out;
}

// Municipalities are stored comma-separated.
std::string Join(const std::vector<std::string>& v) {
  return absl::StrJoin(v, ",");
}

std::vector<std::string> Split(std::string_view s) {
  if (s.empty()) return {};
  return absl::StrSplit(absl::string_view(s.data(), s.size()), ',');
}

// Runs `st` and calls f(st) for every row.
template <typename F>
absl::Status ForEachRow(Statement& st, F f) {
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    f(st);
  }
}

// The audit chain's MAC key (audit.key, 0600, next to the database):
// without it nobody can rewrite the log and recompute the chain. With
// `create`, a new random key is written (never over an existing file).
absl::StatusOr<crypto::SecretBytes> AuditKey(const std::filesystem::path& path,
                                             bool create) {
  if (create) {
    crypto::SecretBytes key = crypto::SecretBytes::Random(kAuditKeyBytes);
    if (auto s = crypto::internal::WriteFileAtomically(path, key.view(), 0600,
                                                       /*exclusive=*/true);
        !s.ok()) {
      return s;
    }
    return key;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        StrCat(path.string(), " is missing: the audit log cannot be checked"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        StrCat(path.string(), " is readable by others; chmod 600 it"));
  }
  auto key = ReadFileToString(path);
  if (!key.ok() || key->size() != kAuditKeyBytes) {
    return absl::DataLossError(StrCat(path.string(), " is damaged"));
  }
  auto out = crypto::SecretBytes::CopyFrom(*key);
  sodium_memzero(key->data(), key->size());
  return out;
}

// Where the state is, for messages (never with a password).
std::string Where(const std::filesystem::path& dir, std::string_view database) {
  return database.empty() ? dir.string()
                          : storage::RedactConnectionString(database);
}

// Opens the SQLite file or PostgreSQL database; checks that a coordinator
// is there (or, with `create`, is not yet).
absl::StatusOr<std::unique_ptr<storage::Database>> OpenStore(
    const std::filesystem::path& dir, std::string_view database, bool create) {
  storage::OpenOptions options;
  options.label = "coordinator database";
  options.create = create;
  if (database.empty()) {
    auto db = storage::Database::Open(dir / "coordinator.db", options);
    if (db.ok()) ::chmod((dir / "coordinator.db").c_str(), 0600);
    return db;
  }
  if (!storage::IsPostgresUrl(database)) {
    return absl::InvalidArgumentError(StrCat(
        "--database must be a postgresql:// URL (or empty for SQLite in the "
        "data directory), not \"",
        storage::RedactConnectionString(database), "\""));
  }
  auto db = storage::Database::OpenPostgres(std::string(database), options);
  if (!db.ok()) return db.status();
  auto exists = HasCoordinatorTables(**db);
  if (!exists.ok()) return exists.status();
  if (create && *exists) {
    return absl::AlreadyExistsError(
        StrCat("a coordinator already exists in ", Where(dir, database)));
  }
  if (!create && !*exists) {
    return absl::NotFoundError(
        StrCat("no coordinator in ", Where(dir, database),
               "; create one with `kring-coordinator init --data-dir ",
               dir.string(), " --database ...`"));
  }
  return db;
}

}  // namespace

struct CoordinatorDb::Impl {
  std::mutex mu;
  std::unique_ptr<storage::Database> db;
  std::optional<storage::AuditChain> audit;

  // Runs a statement that returns no rows; a taken key is ALREADY_EXISTS.
  absl::Status Done(absl::StatusOr<Statement>& st, std::string_view what) {
    if (!st.ok()) return st.status();
    auto s = st->Run();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(StrCat(what, ": already exists"));
    }
    return s;
  }
};

CoordinatorDb::CoordinatorDb(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
CoordinatorDb::~CoordinatorDb() = default;

absl::StatusOr<std::unique_ptr<CoordinatorDb>> CoordinatorDb::Open(
    const std::filesystem::path& dir, bool create) {
  return Open(dir, "", create);
}

absl::StatusOr<std::unique_ptr<CoordinatorDb>> CoordinatorDb::Open(
    const std::filesystem::path& dir, std::string_view database, bool create) {
  if (sodium_init() < 0) return absl::InternalError("libsodium init failed");
  std::error_code ec;
  if (database.empty()) {
    const bool exists = std::filesystem::exists(dir / "coordinator.db", ec);
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
  }
  if (create) {
    std::filesystem::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0700);
  }
  auto impl = std::make_unique<Impl>();
  auto db = OpenStore(dir, database, create);
  if (!db.ok()) return db.status();
  impl->db = *std::move(db);
  auto key = AuditKey(dir / "audit.key", create);
  if (!key.ok()) return key.status();
  auto chain = storage::AuditChain::Create(
      impl->db.get(), storage::ChainFormat::kCoordinator, *std::move(key),
      {"coordinator's audit log", "kring-coordinator",
       "kring-coordinator audit --verify"});
  if (!chain.ok()) return chain.status();
  impl->audit.emplace(*std::move(chain));
  if (impl->db->dialect() == storage::Dialect::kSqlite) {
    if (auto s = impl->db->Exec("PRAGMA journal_mode = WAL;"
                                "PRAGMA synchronous = NORMAL;");
        !s.ok()) {
      return s;
    }
  }
  if (auto s = Migrate(*impl->db, CoordinatorMigrations()); !s.ok()) return s;
  return std::unique_ptr<CoordinatorDb>(new CoordinatorDb(std::move(impl)));
}

absl::Status CoordinatorDb::AddEnrollmentCode(std::string_view code,
                                              const School& school,
                                              int64_t expires_millis) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "INSERT INTO codes(code_hash, brin, name, municipality, expires, "
      "used) VALUES(?, ?, ?, ?, ?, 0)");
  if (st.ok()) {
    st->Bind(1, Hash(code))
        .BindText(2, school.brin)
        .BindText(3, school.name)
        .BindText(4, school.municipality)
        .Bind(5, expires_millis);
  }
  return impl_->Done(st, "enrollment code");
}

absl::StatusOr<School> CoordinatorDb::RedeemEnrollmentCode(
    std::string_view code, int64_t now_millis) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "SELECT brin, name, municipality, expires, used FROM codes "
      "WHERE code_hash = ?");
  if (!st.ok()) return st.status();
  auto row = st->Bind(1, Hash(code)).Step();
  if (!row.ok()) return row.status();
  if (!*row || st->Int(4) != 0 || st->Int(3) < now_millis) {
    return absl::NotFoundError(
        "this enrollment code is unknown, already used or expired; ask the "
        "coordinator's operator for a new one");
  }
  School s;
  s.brin = std::string(st->Text(0));
  s.name = std::string(st->Text(1));
  s.municipality = std::string(st->Text(2));
  // Only one redemption wins, also with two coordinators on one database.
  auto use = impl_->db->Prepare(
      "UPDATE codes SET used = 1 WHERE code_hash = ? AND used = 0");
  if (use.ok()) use->Bind(1, Hash(code));
  if (auto status = impl_->Done(use, "use enrollment code"); !status.ok()) {
    return status;
  }
  if (impl_->db->Changes() != 1) {
    return absl::NotFoundError(
        "this enrollment code was used just now; ask the coordinator's "
        "operator for a new one");
  }
  return s;
}

absl::Status CoordinatorDb::PutSchool(const School& s) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "INSERT INTO schools(school_id, brin, name, municipality, "
      "identity_key, version, last_seen) VALUES(?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(school_id) DO UPDATE SET brin = excluded.brin, "
      "name = excluded.name, municipality = excluded.municipality, "
      "identity_key = excluded.identity_key, version = excluded.version, "
      "last_seen = excluded.last_seen");
  if (st.ok()) {
    st->BindText(1, s.school_id)
        .BindText(2, s.brin)
        .BindText(3, s.name)
        .BindText(4, s.municipality)
        .Bind(5, s.identity_key)
        .BindText(6, s.version)
        .Bind(7, s.last_seen_millis);
  }
  return impl_->Done(st, "school");
}

namespace {
School ReadSchool(const Statement& st) {
  School s;
  s.school_id = std::string(st.Text(0));
  s.brin = std::string(st.Text(1));
  s.name = std::string(st.Text(2));
  s.municipality = std::string(st.Text(3));
  s.identity_key = std::string(st.Blob(4));
  s.version = std::string(st.Text(5));
  s.last_seen_millis = st.Int(6);
  return s;
}

User ReadUser(const Statement& st) {
  User u;
  u.user_id = std::string(st.Text(0));
  u.role = static_cast<v1::Role>(st.Int(1));
  u.public_key = std::string(st.Blob(2));
  u.municipalities = Split(st.Text(3));
  return u;
}

constexpr const char* kSchoolColumns =
    "SELECT school_id, brin, name, municipality, identity_key, version, "
    "last_seen FROM schools";
constexpr const char* kUserColumns =
    "SELECT user_id, role, public_key, municipalities FROM users";
}  // namespace

absl::StatusOr<School> CoordinatorDb::GetSchool(std::string_view school_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(StrCat(kSchoolColumns, " WHERE school_id = ?"));
  if (!st.ok()) return st.status();
  auto row = st->BindText(1, school_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(StrCat("no school ", school_id));
  return ReadSchool(*st);
}

absl::StatusOr<std::vector<School>> CoordinatorDb::ListSchools() {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(StrCat(kSchoolColumns, " ORDER BY school_id"));
  if (!st.ok()) return st.status();
  std::vector<School> out;
  if (auto s = ForEachRow(
          *st, [&](const Statement& row) { out.push_back(ReadSchool(row)); });
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status CoordinatorDb::TouchSchool(std::string_view school_id,
                                        std::string_view version,
                                        int64_t millis) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "UPDATE schools SET version = ?, last_seen = ? WHERE school_id = ?");
  if (st.ok()) st->BindText(1, version).Bind(2, millis).BindText(3, school_id);
  return impl_->Done(st, "school last seen");
}

absl::Status CoordinatorDb::AddUser(const User& u) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "INSERT INTO users(user_id, role, public_key, municipalities) "
      "VALUES(?, ?, ?, ?)");
  if (st.ok()) {
    st->BindText(1, u.user_id)
        .Bind(2, static_cast<int64_t>(u.role))
        .Bind(3, u.public_key)
        .BindText(4, Join(u.municipalities));
  }
  return impl_->Done(st, StrCat("user ", u.user_id));
}

absl::StatusOr<User> CoordinatorDb::GetUser(std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(StrCat(kUserColumns, " WHERE user_id = ?"));
  if (!st.ok()) return st.status();
  auto row = st->BindText(1, user_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(StrCat("no user ", user_id));
  return ReadUser(*st);
}

absl::StatusOr<std::vector<User>> CoordinatorDb::ListUsers() {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(StrCat(kUserColumns, " ORDER BY user_id"));
  if (!st.ok()) return st.status();
  std::vector<User> out;
  if (auto s = ForEachRow(
          *st, [&](const Statement& row) { out.push_back(ReadUser(row)); });
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status CoordinatorDb::PutQuery(const v1::QueryInfo& q) {
  std::lock_guard lock(impl_->mu);
  const std::string info = q.SerializeAsString();
  auto up =
      impl_->db->Prepare("UPDATE queries SET info = ? WHERE query_id = ?");
  if (up.ok()) up->Bind(1, info).BindText(2, q.ticket().query_id());
  if (auto s = impl_->Done(up, "query"); !s.ok()) return s;
  if (impl_->db->Changes() > 0) return absl::OkStatus();
  auto ins =
      impl_->db->Prepare("INSERT INTO queries(query_id, info) VALUES(?, ?)");
  if (ins.ok()) ins->BindText(1, q.ticket().query_id()).Bind(2, info);
  return impl_->Done(ins, "query");
}

absl::StatusOr<v1::QueryInfo> CoordinatorDb::GetQuery(
    std::string_view query_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare("SELECT info FROM queries WHERE query_id = ?");
  if (!st.ok()) return st.status();
  auto row = st->BindText(1, query_id).Step();
  if (!row.ok()) return row.status();
  v1::QueryInfo q;
  const std::string_view info = *row ? st->Blob(0) : std::string_view();
  if (!*row || !q.ParseFromArray(info.data(), static_cast<int>(info.size()))) {
    return absl::NotFoundError(StrCat("no query ", query_id));
  }
  return q;
}

absl::StatusOr<std::vector<v1::QueryInfo>> CoordinatorDb::ListQueries() {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare("SELECT info FROM queries ORDER BY seq");
  if (!st.ok()) return st.status();
  std::vector<v1::QueryInfo> out;
  bool damaged = false;
  if (auto s = ForEachRow(*st,
                          [&](const Statement& row) {
                            const std::string_view info = row.Blob(0);
                            v1::QueryInfo& q = out.emplace_back();
                            damaged |= !q.ParseFromArray(
                                info.data(), static_cast<int>(info.size()));
                          });
      !s.ok()) {
    return s;
  }
  if (damaged) return absl::DataLossError("a stored query cannot be read");
  return out;
}

absl::Status CoordinatorDb::PutResult(std::string_view query_id,
                                      std::string_view table,
                                      std::string_view json,
                                      std::string_view csv) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "INSERT INTO results(query_id, tbl, json, csv) VALUES(?, ?, ?, ?) "
      "ON CONFLICT(query_id) DO UPDATE SET tbl = excluded.tbl, "
      "json = excluded.json, csv = excluded.csv");
  if (st.ok()) {
    st->BindText(1, query_id)
        .BindText(2, table)
        .BindText(3, json)
        .BindText(4, csv);
  }
  return impl_->Done(st, "result");
}

absl::StatusOr<std::string> CoordinatorDb::GetResult(std::string_view query_id,
                                                     v1::ResultFormat format) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "SELECT tbl, json, csv FROM results WHERE query_id = ?");
  if (!st.ok()) return st.status();
  auto row = st->BindText(1, query_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(StrCat("no result for query ", query_id));
  }
  switch (format) {
    case v1::RESULT_FORMAT_TABLE:
      return std::string(st->Text(0));
    case v1::RESULT_FORMAT_CSV:
      return std::string(st->Text(2));
    default:
      return std::string(st->Text(1));
  }
}

absl::Status CoordinatorDb::Grant(std::string_view query_id,
                                  std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "INSERT INTO grants(query_id, user_id) VALUES(?, ?) "
      "ON CONFLICT DO NOTHING");
  if (st.ok()) st->BindText(1, query_id).BindText(2, user_id);
  return impl_->Done(st, "grant");
}

absl::StatusOr<bool> CoordinatorDb::IsGranted(std::string_view query_id,
                                              std::string_view user_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare(
      "SELECT 1 FROM grants WHERE query_id = ? AND user_id = ?");
  if (!st.ok()) return st.status();
  return st->BindText(1, query_id).BindText(2, user_id).Step();
}

absl::Status CoordinatorDb::AppendLedger(std::string_view entry_json) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare("INSERT INTO ledger(entry) VALUES(?)");
  if (st.ok()) st->BindText(1, entry_json);
  return impl_->Done(st, "ledger");
}

absl::StatusOr<std::vector<std::string>> CoordinatorDb::LoadLedger() {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->db->Prepare("SELECT entry FROM ledger ORDER BY seq");
  if (!st.ok()) return st.status();
  std::vector<std::string> out;
  if (auto s = ForEachRow(
          *st, [&](const Statement& row) { out.emplace_back(row.Text(0)); });
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status CoordinatorDb::Audit(std::string_view kind,
                                  std::string_view summary) {
  std::lock_guard lock(impl_->mu);
  const int64_t millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  return impl_->audit->Append(millis, kind, summary);
}

absl::StatusOr<std::vector<AuditRecord>> CoordinatorDb::AuditLog() {
  std::lock_guard lock(impl_->mu);
  auto entries = impl_->audit->Entries();
  if (!entries.ok()) return entries.status();
  std::vector<AuditRecord> out;
  out.reserve(entries->size());
  for (storage::ChainEntry& e : *entries) {
    out.push_back({e.seq, e.time, std::move(e.kind), std::move(e.summary)});
  }
  return out;
}

absl::Status CoordinatorDb::VerifyAudit() {
  std::lock_guard lock(impl_->mu);
  return impl_->audit->Verify();
}

}  // namespace kring::coordinator
