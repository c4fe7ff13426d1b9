#ifndef KRING_NODE_STORE_H_
#define KRING_NODE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/key_wrap.h"
#include "crypto/secret_bytes.h"
#include "kring/v1/record.pb.h"
#include "node/budget.h"

namespace kring::node {

// How the node's data key is protected at rest.
struct KeySource {
  enum class Kind { kPassphrase, kKeyFile };
  Kind kind = Kind::kPassphrase;
  crypto::SecretBytes passphrase;  // kPassphrase
  std::filesystem::path key_file;  // kKeyFile: 0600, written by Init
  // Argon2id cost for kPassphrase (MODERATE by default).
  crypto::PasswordHashLimits limits = crypto::PasswordHashLimits::Moderate();

  static KeySource Passphrase(crypto::SecretBytes passphrase);
  static KeySource KeyFile(std::filesystem::path path);
};

struct StoreOptions {
  // Whether special-category attributes (migration background, financial
  // strain) may be stored at all. Fixed at init.
  bool special_categories = false;
};

// What one import added.
struct ImportResult {
  uint64_t import_id = 0;
  size_t added = 0;
  size_t replaced = 0;  // records of an earlier import of the same file
  // Records left out because their pupil was erased earlier.
  size_t skipped_erased = 0;
};

// The school node's encrypted record store: one SQLite database in the data
// directory. Every record is sealed with XChaCha20-Poly1305 under a random
// 256-bit data key, with associated data binding the record id and schema
// version; the data key is wrapped under a passphrase (Argon2id) or a 0600
// key file. Without the key the file reveals row counts (and how many pupils
// were erased: see ErasePupil) and nothing else:
// no waves, grades, pseudonyms or answers, and no links between rows.
// Duplicates are detected with a keyed tag of (wave, pseudonym), unique per
// row. Deleted rows are overwritten (secure_delete, VACUUM, WAL truncate).
// Not thread-safe; one Store per process.
class Store {
 public:
  // The database layout. 2 added the erasure list and the list of queries
  // contributed to; 3 the privacy budget ledger. Older stores are upgraded
  // when they are unlocked, and older kring-node binaries refuse a newer
  // store rather than import erased pupils again or spend privacy
  // without counting it.
  static constexpr uint32_t kSchemaVersion = 3;
  // The sealed-record format, bound into every record's associated data.
  static constexpr uint32_t kRecordFormat = 1;

  // Creates the data directory (mode 0700) and a new store in it. Fails if a
  // store exists there. With a key file, writes a new random key to it
  // (0600, never overwritten).
  static absl::StatusOr<Store> Init(const std::filesystem::path& dir,
                                    const KeySource& key,
                                    const StoreOptions& options);
  // Opens and unlocks an existing store. A wrong passphrase or key file is
  // PERMISSION_DENIED.
  static absl::StatusOr<Store> Open(const std::filesystem::path& dir,
                                    const KeySource& key);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const StoreOptions& options() const { return options_; }

  // The pseudonym of a pupil number: BLAKE2b-256 keyed with the school's
  // pseudonym secret (kept sealed in the store; it never leaves the
  // school). The number is normalised first (NormalizePupilNumber: all
  // whitespace removed, letters upper-cased).
  // Safe to call from several threads at once.
  std::string Pseudonym(std::string_view pupil_number) const;

  // A keyed digest of an import file's bytes, for "already imported".
  std::string FileTag(std::string_view file_bytes) const;
  // True iff a file with this tag was imported before.
  absl::StatusOr<bool> WasImported(std::string_view file_tag) const;

  // Adds `records` (already validated) in one transaction: all or nothing.
  // Records of a pupil erased earlier are left out and counted in
  // skipped_erased (erasure sticks until ReadmitPupil).
  // With `replace`, first removes the records of the earlier import with
  // the same file tag; without it, a known file tag is ALREADY_EXISTS.
  // A (wave, pseudonym) already stored is ALREADY_EXISTS naming the batch
  // index of the first clash.
  absl::StatusOr<ImportResult> Add(std::span<const v1::PupilRecord> records,
                                   std::string_view file_tag, bool replace);

  // Decrypts every record in id order. Tampering with any stored row
  // (content, id, swapping rows) is DATA_LOSS naming the row id.
  absl::Status ForEach(
      const std::function<void(const v1::PupilRecord&)>& f) const;
  absl::StatusOr<size_t> Count() const;

  // Right to erasure: removes every record of this pupil and keeps a keyed
  // tag of the pupil's pseudonym so later imports leave the pupil out.
  // Returns how many records were removed (0 still blocks later imports).
  absl::StatusOr<size_t> ErasePupil(std::string_view pupil_number);
  // Retention or correction: removes every record of `wave`. Returns how
  // many. The wave may be imported again (erased pupils stay out).
  absl::StatusOr<size_t> EraseWave(std::string_view wave);
  // Lets records of a pupil erased earlier be imported again (for example
  // after new consent). Nothing erased comes back. Returns whether there
  // was an erasure to lift.
  absl::StatusOr<bool> ReadmitPupil(std::string_view pupil_number);
  // How many pupils' erasures are in force.
  absl::StatusOr<size_t> ErasedPupils() const;

  // Queries this school sent its (masked) contribution to, kept so that it
  // never contributes to the same query twice (see the node agent). Marking
  // is atomic: ALREADY_EXISTS if `query_id` was marked before, by any
  // process.
  absl::Status MarkContributed(std::string_view query_id);
  // Marks `spend.query_id` as contributed to (as MarkContributed) and
  // charges spend.rho to each of spend.waves, in one transaction: nothing
  // is marked or charged if a wave would exceed `budget_per_wave`
  // (RESOURCE_EXHAUSTED naming the wave, what was spent and the budget) or
  // the query was marked before (ALREADY_EXISTS). The ledger rows are
  // sealed under the data key.
  absl::Status SpendPrivacy(const PrivacySpend& spend, double budget_per_wave);
  // Every spend, oldest first. DATA_LOSS if a row was tampered with.
  absl::StatusOr<std::vector<PrivacySpend>> PrivacySpent() const;
  absl::StatusOr<bool> Contributed(std::string_view query_id) const;

  // Re-wraps the data key under `next` (records are not re-encrypted).
  absl::Status RotateKey(const KeySource& next);

  // A 32-byte key for one `purpose` (non-empty, e.g. "audit-log-v1"),
  // derived from the data key with keyed BLAKE2b (crypto::DeriveKey): the
  // same for every opening of this store and after RotateKey, different per
  // purpose, and revealing nothing about the data key.
  crypto::SecretBytes DeriveSubkey(std::string_view purpose) const;

  std::filesystem::path database_path() const;

 private:
  struct Db;
  Store(std::filesystem::path dir, std::unique_ptr<Db> db,
        crypto::SecretBytes data_key, crypto::SecretBytes pseudonym_key,
        StoreOptions options);
  static absl::StatusOr<Store> Unlock(const std::filesystem::path& dir,
                                      std::unique_ptr<Db> db,
                                      const KeySource& key);
  static absl::StatusOr<std::unique_ptr<Db>> OpenDb(
      const std::filesystem::path& path, bool create);
  // Decrypts every record in id order and calls f(id, record); DATA_LOSS
  // naming the row on the first one that fails authentication.
  absl::Status Scan(
      const std::function<void(int64_t, const v1::PupilRecord&)>& f) const;
  // Removes the records `match` selects and, in the same transaction,
  // remembers `erasure_tag` (see PupilErasureTag) unless it is empty.
  absl::StatusOr<size_t> EraseWhere(
      const std::function<bool(const v1::PupilRecord&)>& match,
      std::string_view erasure_tag);
  absl::Status Scrub();
  // The number of privacy ledger rows, sealed in the meta table.
  absl::StatusOr<int64_t> LedgerRows() const;
  absl::Status SetLedgerRows(int64_t rows);

  std::filesystem::path dir_;
  std::unique_ptr<Db> db_;
  crypto::SecretBytes data_key_;
  crypto::Aead records_;  // seals records under the data key
  crypto::SecretBytes pseudonym_key_;
  crypto::SecretBytes tag_key_;  // duplicate tags and file tags
  StoreOptions options_;
};

}  // namespace kring::node

#endif  // KRING_NODE_STORE_H_
