#ifndef KRING_NODE_AUDIT_H_
#define KRING_NODE_AUDIT_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "util/clock.h"

namespace kring::node {

// One line of the audit log.
struct AuditEntry {
  uint64_t seq = 0;       // 1, 2, 3, ... without gaps
  int64_t unix_time = 0;  // seconds, from the log's Clock
  std::string kind;       // "import", "erase", "task", "decision", "sent", ...
  // One line in plain words, e.g. "Declined query q-12: ...".
  std::string summary;
  // Details in order, names unique, e.g. {"query_id", "q-12"},
  // {"spec_sha256", "..."}.
  std::vector<std::pair<std::string, std::string>> fields;

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// The school node's append-only, tamper-evident audit log: what the node
// did with the school's data and what left the school. One SQLite file,
// `audit.db` in the data directory (mode 0600), next to the store.
//
// Every entry carries a MAC: keyed BLAKE2b-256 (libsodium
// crypto_generichash, key = the 32-byte log key) of
//   "kring-audit-entry-v1" || u64 seq || u64 unix_time || lp(kind) ||
//   lp(summary) || u32 count || (lp(name) || lp(value))* || prev_mac
// (little-endian integers; lp = u32 length || bytes), where prev_mac is the
// previous entry's MAC, or 32 zero bytes for entry 1. A head row holds the
// last seq and its MAC, itself MACed as
//   "kring-audit-head-v1" || u64 seq || mac,
// so removing the newest entries is detected too. Because the MACs are
// keyed, whoever edits the file cannot recompute them.
//
// What Verify cannot detect, honestly: anyone with the key (the school's
// passphrase or key file, from which the log key is derived) can rewrite the
// whole log; and replacing audit.db with an entire older copy of itself
// (rollback), or deleting it, leaves a log that verifies. A log created
// later shows where it starts: see `kring-node audit`.
//
// Entries must never contain pupil data or secrets: only query ids, hashes,
// counts, file names and reasons.
//
// Not thread-safe: use one AuditLog per thread. Several processes may
// append to the same file; SQLite serialises them.
class AuditLog {
 public:
  static constexpr std::string_view kFileName = "audit.db";

  // Opens the log in `dir` (which must exist), or creates it there (mode
  // 0600). `key` must be 32 bytes: Store::DeriveSubkey("audit-log-v1").
  // Does not verify the entries (see Verify). A key that did not create the
  // log is PERMISSION_DENIED. `clock` (default: the system clock) must
  // outlive the log.
  static absl::StatusOr<AuditLog> Open(const std::filesystem::path& dir,
                                       crypto::SecretBytes key,
                                       const Clock* clock = nullptr);

  AuditLog(AuditLog&&) noexcept;
  AuditLog& operator=(AuditLog&&) noexcept;
  ~AuditLog();

  // Appends one entry, stamped with the clock's time, in one transaction;
  // never rewrites earlier entries. `kind` is a lower-case word
  // ([a-z][a-z0-9-]*), field names are unique lower-case words
  // ([a-z][a-z0-9_]*), `summary` (non-empty) and values are text without
  // control characters (so one line each): otherwise INVALID_ARGUMENT. If
  // the head was modified outside kring-node, or the next entry number is
  // taken, nothing is appended (DATA_LOSS).
  absl::Status Append(
      std::string_view kind, std::string_view summary,
      std::vector<std::pair<std::string, std::string>> fields = {});

  // Every entry in seq order, as stored (without checking the MACs).
  absl::StatusOr<std::vector<AuditEntry>> Entries() const;

  // Whether an entry of `kind` has field `name` equal to `value`, e.g.
  // ("sent", "query_id", "q-12"): whether this school ever sent its
  // contribution to query q-12.
  absl::StatusOr<bool> Contains(std::string_view kind, std::string_view name,
                                std::string_view value) const;

  // OK iff every entry and the head authenticate and chain without gaps.
  // Otherwise DATA_LOSS naming the first entry that was edited, removed,
  // inserted or moved, or the entries missing after a truncated tail, or
  // the damaged head.
  absl::Status Verify() const;

  std::filesystem::path path() const { return path_; }

 private:
  struct Db;
  AuditLog(std::filesystem::path path, std::unique_ptr<Db> db,
           crypto::SecretBytes key, const Clock* clock);

  std::filesystem::path path_;
  std::unique_ptr<Db> db_;
  crypto::SecretBytes key_;
  const Clock* clock_;
};

}  // namespace kring::node

#endif  // KRING_NODE_AUDIT_H_
