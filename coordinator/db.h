#ifndef KRING_COORDINATOR_DB_H_
#define KRING_COORDINATOR_DB_H_

// The coordinator's state in SQLite (coordinator.db in its data
// directory) or, when configured, PostgreSQL: schools, enrollment codes,
// users, queries with their approvals and decisions, results, grants, the
// release ledger and a hash-chained audit log. Thread-safe (one connection
// behind a mutex). The schema is versioned (coordinator/db_migrations.h):
// opening applies the missing steps.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/service.pb.h"

namespace kring::coordinator {

struct School {
  std::string school_id;
  std::string brin;
  std::string name;
  std::string municipality;
  std::string identity_key;  // Ed25519, 32 bytes
  std::string version;
  int64_t last_seen_millis = 0;
};

struct User {
  std::string user_id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string public_key;  // Ed25519, 32 bytes
  std::vector<std::string> municipalities;
};

struct AuditRecord {
  uint64_t seq = 0;
  int64_t unix_millis = 0;
  std::string kind;
  std::string summary;
};

class CoordinatorDb {
 public:
  // Opens (with `create`, creates) coordinator.db in `dir` (mode 0700 dir,
  // 0600 file). NOT_FOUND when it does not exist and !create;
  // ALREADY_EXISTS when it exists and create.
  static absl::StatusOr<std::unique_ptr<CoordinatorDb>> Open(
      const std::filesystem::path& dir, bool create);
  // As above with `database` empty; with a postgresql:// URL the state is
  // in that PostgreSQL database instead (NOT_FOUND without the
  // coordinator's tables and !create; ALREADY_EXISTS with them and create)
  // and `dir` keeps only audit.key (which every coordinator on the
  // database must share). Messages never contain the URL's password.
  static absl::StatusOr<std::unique_ptr<CoordinatorDb>> Open(
      const std::filesystem::path& dir, std::string_view database, bool create);
  ~CoordinatorDb();

  // Enrollment codes (stored hashed; the code itself is never stored).
  absl::Status AddEnrollmentCode(std::string_view code, const School& school,
                                 int64_t expires_millis);
  // Marks the code used and returns its school details; NOT_FOUND for an
  // unknown, used or expired code.
  absl::StatusOr<School> RedeemEnrollmentCode(std::string_view code,
                                              int64_t now_millis);

  absl::Status PutSchool(const School& s);
  absl::StatusOr<School> GetSchool(std::string_view school_id);
  absl::StatusOr<std::vector<School>> ListSchools();
  absl::Status TouchSchool(std::string_view school_id, std::string_view version,
                           int64_t millis);

  // ALREADY_EXISTS for a taken id.
  absl::Status AddUser(const User& u);
  absl::StatusOr<User> GetUser(std::string_view user_id);
  absl::StatusOr<std::vector<User>> ListUsers();

  absl::Status PutQuery(const v1::QueryInfo& q);
  absl::StatusOr<v1::QueryInfo> GetQuery(std::string_view query_id);
  // In submission order.
  absl::StatusOr<std::vector<v1::QueryInfo>> ListQueries();

  absl::Status PutResult(std::string_view query_id, std::string_view table,
                         std::string_view json, std::string_view csv);
  absl::StatusOr<std::string> GetResult(std::string_view query_id,
                                        v1::ResultFormat format);

  absl::Status Grant(std::string_view query_id, std::string_view user_id);
  absl::StatusOr<bool> IsGranted(std::string_view query_id,
                                 std::string_view user_id);

  // The release ledger, as opaque JSON entries in order.
  absl::Status AppendLedger(std::string_view entry_json);
  absl::StatusOr<std::vector<std::string>> LoadLedger();

  // Append-only audit log, each entry chained to the previous by keyed
  // BLAKE2b (key in audit.key, 0600): edits, removals and reorderings are
  // detected unless the editor also holds the key; a truncated tail or a
  // whole older copy of the database is not.
  absl::Status Audit(std::string_view kind, std::string_view summary);
  absl::StatusOr<std::vector<AuditRecord>> AuditLog();
  // DATA_LOSS naming the first entry whose chain does not verify.
  absl::Status VerifyAudit();

 private:
  struct Impl;
  explicit CoordinatorDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_DB_H_
