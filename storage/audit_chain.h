#ifndef KRING_STORAGE_AUDIT_CHAIN_H_
#define KRING_STORAGE_AUDIT_CHAIN_H_

// The project's one hash-chained, append-only audit log, kept in a table of
// a storage::Database. Every entry carries a keyed BLAKE2b-256 MAC over its
// content and the previous entry's MAC, so whoever edits the file without
// the key cannot recompute the chain. Two on-disk formats, one per side,
// unchanged from the files earlier kring versions wrote:
//
// kNode (the school node's audit.db): table entries(seq, unix_time, kind,
//   summary, fields, mac) with the MAC input documented in node/audit.h,
//   and a head row (last seq and MAC, itself MACed) so that a removed tail
//   is detected too. Entries must be one line of text each (see Append).
// kCoordinator (coordinator.db): table audit(seq, millis, kind, summary,
//   hash), MAC = BLAKE2b-256 keyed over
//     prev_mac || "|" seq "|" millis "|" len(kind) ":" kind "|"
//     len(summary) ":" summary   (decimal numbers)
//   with 32 zero bytes before entry 1; no fields and no head, so a
//   truncated tail is not detected.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "storage/database.h"

namespace kring::storage {

using AuditFields = std::vector<std::pair<std::string, std::string>>;

struct ChainEntry {
  uint64_t seq = 0;  // 1, 2, 3, ... without gaps
  int64_t time = 0;  // as the caller stamped it (seconds or milliseconds)
  std::string kind;
  std::string summary;
  AuditFields fields;  // always empty in the kCoordinator format

  friend bool operator==(const ChainEntry&, const ChainEntry&) = default;
};

enum class ChainFormat { kNode, kCoordinator };

// Who writes the log, for messages: e.g. {"audit log", "kring-node",
// "kring-node audit verify"} gives "the audit log was modified outside
// kring-node (or is damaged)" and "Run `kring-node audit verify`".
struct ChainNames {
  std::string log = "audit log";
  std::string program = "kring";
  std::string verify_command;
};

// Thread-compatible; must not outlive its Database. Several processes may
// append to one file: each Append is one IMMEDIATE transaction.
class AuditChain {
 public:
  static constexpr size_t kKeyBytes = 32;

  // `key` must be 32 bytes (INVALID_ARGUMENT otherwise). Does not touch
  // the database.
  static absl::StatusOr<AuditChain> Create(Database* db, ChainFormat format,
                                           crypto::SecretBytes key,
                                           ChainNames names);

  // Creates the chain's table(s), and for kNode the empty head, in the
  // caller's transaction. Fails if they exist.
  absl::Status CreateTables();

  // Appends one entry stamped `time`, never rewriting earlier ones. kNode:
  // `kind` is a word [a-z][a-z0-9-]*, field names unique words
  // [a-z][a-z0-9_]*, `summary` (non-empty) and values text without control
  // characters, else INVALID_ARGUMENT; kCoordinator takes any text and no
  // fields. DATA_LOSS, with nothing appended, if the head fails
  // authentication or the next entry number is taken.
  absl::Status Append(int64_t time, std::string_view kind,
                      std::string_view summary, AuditFields fields = {});

  // Every entry in seq order, as stored (without checking the MACs).
  absl::StatusOr<std::vector<ChainEntry>> Entries() const;

  // Whether an entry of `kind` has field `name` equal to `value`.
  absl::StatusOr<bool> Contains(std::string_view kind, std::string_view name,
                                std::string_view value) const;

  // OK iff every entry (and for kNode the head) authenticates and the
  // chain has no gaps. Otherwise DATA_LOSS naming the first entry that was
  // edited, removed, inserted or moved, the entries missing after a
  // truncated tail (kNode), or the damaged head.
  absl::Status Verify() const;

  // "the <log> was modified outside <program> (or is damaged)".
  std::string Modified() const;

 private:
  struct Head {
    uint64_t seq = 0;
    std::string mac;
  };
  AuditChain(Database* db, ChainFormat format, crypto::SecretBytes key,
             ChainNames names);

  std::string EntryMac(const ChainEntry& e, std::string_view prev) const;
  std::string HeadMac(uint64_t seq, std::string_view mac) const;
  // The head (kNode, checked against its MAC) or the last entry.
  absl::StatusOr<Head> ReadHead() const;
  absl::Status Insert(const ChainEntry& e, std::string_view mac,
                      const Head& head);
  // A table that cannot be read: dropped or altered by hand, or damaged.
  absl::Status Unreadable(std::string_view table,
                          const absl::Status& cause) const;
  // DATA_LOSS if the entry read as `seq` is not `expected` (1-based) or
  // lies beyond `head`.
  absl::Status CheckSequence(int64_t seq, uint64_t expected,
                             const Head& head) const;
  // kCoordinator: "the <log> was altered at entry <seq>: <detail>", as
  // that format's messages always began; kNode: `detail` as it is.
  absl::Status AlteredAt(uint64_t seq, const absl::Status& detail) const;
  absl::Status CheckTail(uint64_t next, const Head& head,
                         std::string_view last_mac) const;

  Database* db_;
  ChainFormat format_;
  crypto::SecretBytes key_;
  ChainNames names_;
};

// The encoding of fields in a kNode entry: one "name=value" per line.
std::string EncodeFields(const AuditFields& fields);
AuditFields DecodeFields(std::string_view text);

}  // namespace kring::storage

#endif  // KRING_STORAGE_AUDIT_CHAIN_H_
