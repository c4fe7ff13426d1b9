#include "node/store.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <system_error>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "crypto/internal/files.h"
#include "crypto/key_agreement.h"
#include "nlohmann/json.hpp"
#include "storage/database.h"
#include "survey/record.h"
#include "util/parallel.h"
#include "util/str_cat.h"

namespace kring::node {

using survey::NormalizePupilNumber;
namespace {

using crypto::Aead;
using crypto::SecretBytes;

constexpr std::string_view kDatabaseFile = "node.db";
constexpr std::string_view kKeyFilePrefix = "kring-node-key-v1:";
constexpr std::string_view kKeyFileWrapAd = "kring-node-data-key-v1/key-file";
constexpr std::string_view kPseudonymAd = "kring-node-pseudonym-secret-v1";
constexpr size_t kKeyBytes = 32;

// Associated data of a sealed record: its row id, duplicate tag and the
// record format, so rows cannot be swapped, moved or re-tagged unnoticed.
std::string RecordAd(int64_t id, std::string_view dup_tag) {
  std::string ad = "kring-record-v1";
  crypto::internal::AppendU64(ad, static_cast<uint64_t>(id));
  crypto::internal::AppendU32(ad, Store::kRecordFormat);
  crypto::internal::AppendLengthPrefixed(ad, dup_tag);
  return ad;
}

std::string Keyed(const SecretBytes& key, std::string_view label,
                  std::string_view data, size_t out_bytes) {
  // BLAKE2b keyed over length-prefixed label || data, streamed so that
  // neither is copied.
  std::string prefix;
  crypto::internal::AppendLengthPrefixed(prefix, label);
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), out_bytes);
  crypto_generichash_update(
      &state, reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size());
  crypto_generichash_update(
      &state, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  std::string out(out_bytes, '\0');
  crypto_generichash_final(&state, reinterpret_cast<uint8_t*>(out.data()),
                           out.size());
  sodium_memzero(&state, sizeof state);
  return out;
}

std::string DupTag(const SecretBytes& tag_key, const v1::PupilRecord& r) {
  std::string data;
  crypto::internal::AppendLengthPrefixed(data, r.wave());
  crypto::internal::AppendLengthPrefixed(data, r.pseudonym());
  return Keyed(tag_key, "duplicate", data, 16);
}

// What a pupil's erasure leaves behind so that it sticks: a keyed tag of
// the pupil's pseudonym, which names nobody without the key.
std::string PupilErasureTag(const SecretBytes& tag_key,
                            std::string_view pseudonym) {
  return Keyed(tag_key, "erased-pupil", pseudonym, 16);
}

// Keyed duplicate tags or erasure tags, checked in memory (a unique index
// on random tags would make every insert a random B-tree write).
struct TagHash {
  size_t operator()(const std::string& t) const {
    size_t h = 0;  // the tags are keyed hashes: any 8 bytes will do
    std::memcpy(&h, t.data(), std::min(sizeof h, t.size()));
    return h;
  }
};
using TagSet = std::unordered_set<std::string, TagHash>;

// A record tagged and sealed for the row it will have.
struct SealedRecord {
  std::string tag;
  absl::StatusOr<std::string> blob;
};

}  // namespace

// The store's SQLite connection and its meta table.
struct Store::Db {
  std::unique_ptr<storage::Database> sql;

  absl::Status SetMeta(std::string_view key, std::string_view value) {
    auto st =
        sql->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
    if (!st.ok()) return st.status();
    return st->BindText(1, key).Bind(2, value).Run();
  }

  absl::StatusOr<std::string> GetMeta(std::string_view key) {
    auto st = sql->Prepare("SELECT value FROM meta WHERE key = ?");
    if (!st.ok()) return st.status();
    auto row = st->BindText(1, key).Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::DataLossError(
          StrCat("node database is incomplete: missing \"", key,
                 "\"; was it created by `kring-node init`?"));
    }
    return std::string(st->Blob(0));
  }

  // Column 0 of every row `query` returns.
  absl::StatusOr<TagSet> ReadSet(const char* query) {
    auto st = sql->Prepare(query);
    if (!st.ok()) return st.status();
    TagSet out;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.emplace(st->Blob(0));
    }
  }

  // Removes the earlier import with `file_tag`, if any, and its records;
  // returns how many records. Without `replace` a known tag is
  // ALREADY_EXISTS.
  absl::StatusOr<size_t> RemoveImport(std::string_view file_tag, bool replace) {
    auto find = sql->Prepare("SELECT id FROM imports WHERE file_tag = ?");
    if (!find.ok()) return find.status();
    auto row = find->Bind(1, file_tag).Step();
    if (!row.ok()) return row.status();
    if (!*row) return size_t{0};
    const int64_t old = find->Int(0);
    if (!replace) {
      return absl::AlreadyExistsError(
          "this file was imported before; nothing was imported. Use "
          "--replace to replace the records of that earlier import");
    }
    auto del = sql->Prepare("DELETE FROM records WHERE import_id = ?");
    if (!del.ok()) return del.status();
    if (auto s = del->Bind(1, old).Run(); !s.ok()) return s;
    const size_t removed = static_cast<size_t>(sql->Changes());
    auto del_import = sql->Prepare("DELETE FROM imports WHERE id = ?");
    if (!del_import.ok()) return del_import.status();
    if (auto s = del_import->Bind(1, old).Run(); !s.ok()) return s;
    return removed;
  }

  // Records a new import; returns its id.
  absl::StatusOr<uint64_t> AddImport(std::string_view file_tag) {
    auto ins = sql->Prepare("INSERT INTO imports(file_tag) VALUES(?)");
    if (!ins.ok()) return ins.status();
    if (auto s = ins->Bind(1, file_tag).Run(); !s.ok()) return s;
    return static_cast<uint64_t>(sql->LastInsertRowid());
  }

  // The single integer `query` returns.
  absl::StatusOr<int64_t> ReadInt(const char* query) {
    auto st = sql->Prepare(query);
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    return st->Int(0);
  }
};

KeySource KeySource::Passphrase(SecretBytes passphrase) {
  KeySource k;
  k.kind = Kind::kPassphrase;
  k.passphrase = std::move(passphrase);
  return k;
}

KeySource KeySource::KeyFile(std::filesystem::path path) {
  KeySource k;
  k.kind = Kind::kKeyFile;
  k.key_file = std::move(path);
  return k;
}

namespace {

absl::StatusOr<SecretBytes> ReadKeyFile(const std::filesystem::path& path) {
  auto text = crypto::internal::ReadSmallFile(path, 4096,
                                              /*require_private=*/true);
  if (!text.ok()) return text.status();
  SecretBytes owned = SecretBytes::CopyFrom(*text);
  sodium_memzero(text->data(), text->size());
  // The key line: the first line that is not a comment.
  std::string_view rest = owned.view(), line;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view()
                                         : rest.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line.front() != '#') break;
    line = {};
  }
  if (!line.starts_with(kKeyFilePrefix)) {
    return absl::InvalidArgumentError(
        StrCat(path.string(), " is not a kring node key file"));
  }
  auto key =
      crypto::internal::Base64DecodeSecret(line.substr(kKeyFilePrefix.size()));
  if (!key.ok() || key->size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat(path.string(), " is a damaged kring node key file"));
  }
  return key;
}

absl::Status WriteKeyFile(const std::filesystem::path& path,
                          const SecretBytes& key) {
  std::string text = StrCat(
      "# kring node key. Keep it secret, keep a backup: without it the\n"
      "# school's data cannot be read.\n",
      kKeyFilePrefix, crypto::internal::Base64Encode(key.view()), "\n");
  SecretBytes owned = SecretBytes::CopyFrom(text);
  sodium_memzero(text.data(), text.size());
  return crypto::internal::WriteFileAtomically(path, owned.view(), 0600,
                                               /*exclusive=*/true);
}

// Wraps the data key; returns (kind, wrapped).
absl::StatusOr<std::pair<std::string, std::string>> Wrap(
    const SecretBytes& data_key, const KeySource& key, bool create_key_file) {
  if (key.kind == KeySource::Kind::kPassphrase) {
    auto wrapped = crypto::WrapKey(data_key, key.passphrase, key.limits);
    if (!wrapped.ok()) return wrapped.status();
    return std::make_pair(std::string("passphrase"), *std::move(wrapped));
  }
  SecretBytes file_key;
  if (create_key_file) {
    file_key = SecretBytes::Random(kKeyBytes);
    if (auto s = WriteKeyFile(key.key_file, file_key); !s.ok()) return s;
  } else {
    auto k = ReadKeyFile(key.key_file);
    if (!k.ok()) return k.status();
    file_key = *std::move(k);
  }
  auto aead = Aead::Create(std::move(file_key));
  if (!aead.ok()) return aead.status();
  auto wrapped = aead->Seal(data_key.view(), kKeyFileWrapAd);
  if (!wrapped.ok()) return wrapped.status();
  return std::make_pair(std::string("key-file"), *std::move(wrapped));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store::Db>> Store::OpenDb(
    const std::filesystem::path& path, bool create) {
  storage::OpenOptions options;
  options.label = "node database";
  options.create = create;
  // secure_delete overwrites freed content; WAL keeps old pages out of
  // the main file until a checkpoint overwrites them (see Scrub).
  options.setup_sql =
      "PRAGMA secure_delete = ON;"
      "PRAGMA journal_mode = WAL;"
      "PRAGMA synchronous = NORMAL;"
      "PRAGMA foreign_keys = ON;"
      // Stores of schema version 1 lack these.
      "CREATE TABLE IF NOT EXISTS erased("
      "  tag BLOB PRIMARY KEY) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS contributed("
      "  query_id TEXT PRIMARY KEY) WITHOUT ROWID;"
      // Stores of schema versions 1 and 2 lack this.
      "CREATE TABLE IF NOT EXISTS privacy_spent("
      "  id INTEGER PRIMARY KEY, sealed BLOB NOT NULL);";
  auto sql = storage::Database::Open(path, options);
  if (!sql.ok()) {
    if (!create && !std::filesystem::exists(path)) {
      return absl::NotFoundError(StrCat("no kring node data at ",
                                        path.parent_path().string(),
                                        "; run `kring-node init` first"));
    }
    return sql.status();
  }
  return std::make_unique<Db>(Db{*std::move(sql)});
}

Store::Store(std::filesystem::path dir, std::unique_ptr<Db> db,
             SecretBytes data_key, SecretBytes pseudonym_key,
             StoreOptions options)
    : dir_(std::move(dir)),
      db_(std::move(db)),
      data_key_(std::move(data_key)),
      records_(*Aead::Create(data_key_.Clone())),
      pseudonym_key_(std::move(pseudonym_key)),
      tag_key_(*crypto::DeriveKey(data_key_, "kring-node-tags-v1", "")),
      options_(options) {}

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

std::filesystem::path Store::database_path() const {
  return dir_ / kDatabaseFile;
}

absl::StatusOr<Store> Store::Init(const std::filesystem::path& dir,
                                  const KeySource& key,
                                  const StoreOptions& options) {
  if (auto s = crypto::Init(); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(StrCat(
        "cannot create data directory ", dir.string(), ": ", ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  const auto path = dir / kDatabaseFile;
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError(
        StrCat("a kring node store already exists in ", dir.string(),
               "; use a new --data-dir or remove the old one first"));
  }
  auto db = OpenDb(path, /*create=*/true);
  if (!db.ok()) return db.status();
  ::chmod(path.c_str(), 0600);
  SecretBytes data_key = SecretBytes::Random(kKeyBytes);
  SecretBytes pseudonym_key = SecretBytes::Random(kKeyBytes);
  absl::StatusOr<std::pair<std::string, std::string>> wrapped;
  {
    auto tx = storage::Transaction::Begin(
        *(*db)->sql, storage::Transaction::Mode::kDeferred);
    if (!tx.ok()) return tx.status();
    if (auto s = (*db)->sql->Exec(
            "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
            "CREATE TABLE imports(id INTEGER PRIMARY KEY,"
            "  file_tag BLOB NOT NULL UNIQUE);"
            "CREATE TABLE records(id INTEGER PRIMARY KEY,"
            "  import_id INTEGER NOT NULL REFERENCES imports(id),"
            "  dup_tag BLOB NOT NULL, sealed BLOB NOT NULL);");
        !s.ok()) {
      return s;
    }
    wrapped = Wrap(data_key, key, /*create_key_file=*/true);
    if (wrapped.ok()) {
      auto aead = Aead::Create(data_key.Clone());
      auto sealed_pseudonym = aead->Seal(pseudonym_key.view(), kPseudonymAd);
      if (!sealed_pseudonym.ok()) return sealed_pseudonym.status();
      for (auto [k, v] :
           // Values owned by the list: a string_view into the temporary
           // std::to_string result would dangle inside the loop.
           std::initializer_list<std::pair<std::string_view, std::string>>{
               {"schema_version", std::to_string(kSchemaVersion)},
               {"key_kind", wrapped->first},
               {"wrapped_key", wrapped->second},
               {"pseudonym_secret", *sealed_pseudonym},
               {"special_categories",
                options.special_categories ? "1" : "0"}}) {
        if (auto s = (*db)->SetMeta(k, v); !s.ok()) return s;
      }
      if (auto s = tx->Commit(); !s.ok()) return s;
    }
  }
  if (!wrapped.ok()) {
    db->reset();
    std::filesystem::remove(path);
    return wrapped.status();
  }
  Store store(dir, *std::move(db), std::move(data_key),
              std::move(pseudonym_key), options);
  if (absl::Status s = store.SetLedgerRows(0); !s.ok()) return s;
  return store;
}

absl::StatusOr<Store> Store::Open(const std::filesystem::path& dir,
                                  const KeySource& key) {
  if (auto s = crypto::Init(); !s.ok()) return s;
  auto db = OpenDb(dir / kDatabaseFile, /*create=*/false);
  if (!db.ok()) return db.status();
  return Unlock(dir, *std::move(db), key);
}

namespace {

// The data key, unwrapped with `key` from what the meta table holds.
absl::StatusOr<SecretBytes> UnwrapDataKey(std::string_view kind,
                                          std::string_view wrapped,
                                          const KeySource& key) {
  if (kind == "passphrase") {
    if (key.kind != KeySource::Kind::kPassphrase) {
      return absl::InvalidArgumentError(
          "this store is protected by a passphrase, not a key file; set "
          "KRING_NODE_PASSPHRASE or answer the prompt");
    }
    return crypto::UnwrapKey(wrapped, key.passphrase);
  }
  if (key.kind != KeySource::Kind::kKeyFile) {
    return absl::InvalidArgumentError(
        "this store is protected by a key file; pass --key-file");
  }
  auto file_key = ReadKeyFile(key.key_file);
  if (!file_key.ok()) return file_key.status();
  auto aead = Aead::Create(*std::move(file_key));
  if (!aead.ok()) return aead.status();
  auto data_key = aead->Open(wrapped, kKeyFileWrapAd);
  if (!data_key.ok()) {
    return absl::PermissionDeniedError(
        "this key file does not unlock the store (wrong key file?)");
  }
  return data_key;
}

}  // namespace

absl::StatusOr<Store> Store::Unlock(const std::filesystem::path& dir,
                                    std::unique_ptr<Db> db,
                                    const KeySource& key) {
  auto version = db->GetMeta("schema_version");
  if (!version.ok()) return version.status();
  const bool upgrade = *version == "1" || *version == "2";
  if (*version != std::to_string(kSchemaVersion) && !upgrade) {
    return absl::FailedPreconditionError(
        StrCat("node store has schema version ", *version,
               "; this kring-node reads ", kSchemaVersion));
  }
  auto kind = db->GetMeta("key_kind");
  auto wrapped = db->GetMeta("wrapped_key");
  auto sealed_pseudonym = db->GetMeta("pseudonym_secret");
  auto special = db->GetMeta("special_categories");
  for (const auto* s : {&kind, &wrapped, &sealed_pseudonym, &special}) {
    if (!s->ok()) return s->status();
  }
  auto data_key = UnwrapDataKey(*kind, *wrapped, key);
  if (!data_key.ok()) return data_key.status();
  auto aead = Aead::Create(data_key->Clone());
  auto pseudonym_key = aead->Open(*sealed_pseudonym, kPseudonymAd);
  if (!pseudonym_key.ok()) {
    return absl::DataLossError(
        "the store's pseudonym secret is damaged or was tampered with");
  }
  if (upgrade) {
    // Versions 1 and 2 lacked only lists, which OpenDb has created.
    if (auto s = db->SetMeta("schema_version", std::to_string(kSchemaVersion));
        !s.ok()) {
      return s;
    }
  }
  StoreOptions options;
  options.special_categories = *special == "1";
  Store store(dir, std::move(db), *std::move(data_key),
              *std::move(pseudonym_key), options);
  // Versions 1 and 2 had no privacy ledger: it starts empty.
  if (upgrade) {
    if (absl::Status s = store.SetLedgerRows(0); !s.ok()) return s;
  }
  return store;
}

std::string Store::Pseudonym(std::string_view pupil_number) const {
  std::string normalized = NormalizePupilNumber(pupil_number);
  std::string out = Keyed(pseudonym_key_, "pupil", normalized, 32);
  sodium_memzero(normalized.data(), normalized.size());
  return out;
}

std::string Store::FileTag(std::string_view file_bytes) const {
  return Keyed(tag_key_, "import-file", file_bytes, 16);
}

absl::StatusOr<bool> Store::WasImported(std::string_view file_tag) const {
  auto st = db_->sql->Prepare("SELECT id FROM imports WHERE file_tag = ?");
  if (!st.ok()) return st.status();
  return st->Bind(1, file_tag).Step();
}

namespace {

// Tags and seals every record on all cores, for rows first_id, first_id+1,
// ...; the caller inserts them in order.
std::vector<SealedRecord> SealAll(
    const Aead& aead, const SecretBytes& tag_key,
    std::span<const v1::PupilRecord* const> records, int64_t first_id) {
  std::vector<SealedRecord> sealed(records.size());
  ParallelFor(records.size(), [&](size_t i) {
    const int64_t id = first_id + static_cast<int64_t>(i);
    sealed[i].tag = DupTag(tag_key, *records[i]);
    std::string plain;
    records[i]->SerializeToString(&plain);
    sealed[i].blob = aead.Seal(plain, RecordAd(id, sealed[i].tag));
    sodium_memzero(plain.data(), plain.size());
  });
  return sealed;
}

}  // namespace

absl::StatusOr<ImportResult> Store::Add(
    std::span<const v1::PupilRecord> records, std::string_view file_tag,
    bool replace) {
  ImportResult result;
  // Every early return rolls the transaction back: all or nothing.
  auto tx = storage::Transaction::Begin(*db_->sql,
                                        storage::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  auto replaced = db_->RemoveImport(file_tag, replace);
  if (!replaced.ok()) return replaced.status();
  result.replaced = *replaced;
  auto import_id = db_->AddImport(file_tag);
  if (!import_id.ok()) return import_id.status();
  result.import_id = *import_id;
  auto max_id = db_->ReadInt("SELECT IFNULL(MAX(id), 0) FROM records");
  if (!max_id.ok()) return max_id.status();
  const int64_t next_id = *max_id + 1;
  // One record per (wave, pupil).
  auto tags = db_->ReadSet("SELECT dup_tag FROM records");
  if (!tags.ok()) return tags.status();
  // Pupils erased earlier stay out.
  auto erased = db_->ReadSet("SELECT tag FROM erased");
  if (!erased.ok()) return erased.status();
  std::vector<const v1::PupilRecord*> kept;
  kept.reserve(records.size());
  for (const v1::PupilRecord& r : records) {
    if (!erased->empty() &&
        erased->contains(PupilErasureTag(tag_key_, r.pseudonym()))) {
      ++result.skipped_erased;
      continue;
    }
    kept.push_back(&r);
  }
  tags->reserve(tags->size() + kept.size());
  const std::vector<SealedRecord> sealed =
      SealAll(records_, tag_key_, kept, next_id);
  auto ins = db_->sql->Prepare(
      "INSERT INTO records(id, import_id, dup_tag, sealed) "
      "VALUES(?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!tags->insert(sealed[i].tag).second) {
      const size_t batch_index = static_cast<size_t>(kept[i] - records.data());
      return absl::AlreadyExistsError(
          StrCat("record ", batch_index + 1,
                 " is a second record for the same pupil in wave ",
                 kept[i]->wave(), "; nothing was imported"));
    }
    if (!sealed[i].blob.ok()) return sealed[i].blob.status();
    ins->Bind(1, next_id + static_cast<int64_t>(i))
        .Bind(2, static_cast<int64_t>(result.import_id))
        .Bind(3, sealed[i].tag)
        .Bind(4, *sealed[i].blob);
    if (auto s = ins->Run(); !s.ok()) return s;
    ins->Reset();
  }
  if (auto s = tx->Commit(); !s.ok()) return s;
  result.added = kept.size();
  if (result.replaced > 0) {
    if (auto s = Scrub(); !s.ok()) return s;
  }
  return result;
}

absl::Status Store::Scan(
    const std::function<void(int64_t, const v1::PupilRecord&)>& f) const {
  auto st =
      db_->sql->Prepare("SELECT id, dup_tag, sealed FROM records ORDER BY id");
  if (!st.ok()) return st.status();
  v1::PupilRecord record;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    const int64_t id = st->Int(0);
    auto plain = records_.Open(st->Blob(2), RecordAd(id, st->Blob(1)));
    if (!plain.ok() || !record.ParseFromArray(
                           plain->data(), static_cast<int>(plain->size()))) {
      return absl::DataLossError(
          StrCat("record ", id,
                 " fails authentication: the database was modified outside "
                 "kring-node (or is damaged); restore it from a backup"));
    }
    f(id, record);
  }
}

absl::Status Store::ForEach(
    const std::function<void(const v1::PupilRecord&)>& f) const {
  return Scan([&](int64_t, const v1::PupilRecord& r) { f(r); });
}

absl::StatusOr<size_t> Store::Count() const {
  auto n = db_->ReadInt("SELECT COUNT(*) FROM records");
  if (!n.ok()) return n.status();
  return static_cast<size_t>(*n);
}

absl::StatusOr<size_t> Store::EraseWhere(
    const std::function<bool(const v1::PupilRecord&)>& match,
    std::string_view erasure_tag) {
  // Decrypt to find the rows (nothing in the clear says whose or which
  // wave a row is), then delete them and remember the erasure in one
  // transaction.
  std::vector<int64_t> ids;
  if (auto s = Scan([&](int64_t id, const v1::PupilRecord& r) {
        if (match(r)) ids.push_back(id);
      });
      !s.ok()) {
    return absl::Status(s.code(),
                        StrCat(ToStd(s.message()), "; nothing erased"));
  }
  auto tx = storage::Transaction::Begin(*db_->sql,
                                        storage::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  if (!erasure_tag.empty()) {
    auto remember =
        db_->sql->Prepare("INSERT OR IGNORE INTO erased(tag) VALUES(?)");
    if (!remember.ok()) return remember.status();
    if (auto s = remember->Bind(1, erasure_tag).Run(); !s.ok()) return s;
  }
  auto del = db_->sql->Prepare("DELETE FROM records WHERE id = ?");
  if (!del.ok()) return del.status();
  for (int64_t id : ids) {
    if (auto s = del->Bind(1, id).Run(); !s.ok()) return s;
    del->Reset();
  }
  if (auto s = tx->Commit(); !s.ok()) return s;
  if (ids.empty()) return size_t{0};
  if (auto s = Scrub(); !s.ok()) return s;
  return ids.size();
}

absl::StatusOr<size_t> Store::ErasePupil(std::string_view pupil_number) {
  const std::string pseudonym = Pseudonym(pupil_number);
  return EraseWhere(
      [&](const v1::PupilRecord& r) {
        return r.pseudonym().size() == 32 &&
               sodium_memcmp(r.pseudonym().data(), pseudonym.data(), 32) == 0;
      },
      PupilErasureTag(tag_key_, pseudonym));
}

absl::StatusOr<size_t> Store::EraseWave(std::string_view wave) {
  return EraseWhere([&](const v1::PupilRecord& r) { return r.wave() == wave; },
                    /*erasure_tag=*/"");
}

absl::StatusOr<size_t> Store::ErasedPupils() const {
  auto n = db_->ReadInt("SELECT COUNT(*) FROM erased");
  if (!n.ok()) return n.status();
  return static_cast<size_t>(*n);
}

absl::Status Store::MarkContributed(std::string_view query_id) {
  auto ins = db_->sql->Prepare("INSERT INTO contributed(query_id) VALUES(?)");
  if (!ins.ok()) return ins.status();
  auto s = ins->BindText(1, query_id).Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(
        StrCat("this school already contributed to query ", query_id));
  }
  return s;
}

namespace {

// The associated data binding a sealed ledger row to its id.
constexpr std::string_view kLedgerRowsAd = "kring-node privacy ledger rows v1";

std::string SpendAd(int64_t id) {
  return StrCat("kring-node privacy spend v1 ", id);
}

std::string SpendJson(const PrivacySpend& s) {
  nlohmann::json j = {{"query_id", s.query_id},
                      {"waves", s.waves},
                      {"rho", s.rho},
                      {"requester", s.requester},
                      {"unix_millis", s.unix_millis}};
  return j.dump();
}

absl::StatusOr<PrivacySpend> ParseSpend(std::string_view json, int64_t id) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  PrivacySpend s;
  if (j.is_object() && j.contains("query_id") && j["query_id"].is_string() &&
      j.contains("waves") && j["waves"].is_array() && j.contains("rho") &&
      j["rho"].is_number() && j.contains("requester") &&
      j["requester"].is_string() && j.contains("unix_millis") &&
      j["unix_millis"].is_number_integer()) {
    s.query_id = j["query_id"];
    for (const auto& w : j["waves"]) {
      if (w.is_string()) s.waves.push_back(w);
    }
    s.rho = j["rho"];
    s.requester = j["requester"];
    s.unix_millis = j["unix_millis"];
    return s;
  }
  return absl::DataLossError(StrCat("privacy ledger row ", id, " is damaged"));
}

}  // namespace

absl::StatusOr<int64_t> Store::LedgerRows() const {
  auto sealed = db_->GetMeta("privacy_ledger_rows");
  if (!sealed.ok()) return sealed.status();
  auto plain = records_.Open(*sealed, kLedgerRowsAd);
  if (!plain.ok()) {
    return absl::DataLossError(
        "the privacy ledger's row count was tampered with or is damaged");
  }
  int64_t rows = 0;
  if (!absl::SimpleAtoi(std::string(plain->view()), &rows)) {
    return absl::DataLossError("the privacy ledger's row count is damaged");
  }
  return rows;
}

absl::Status Store::SetLedgerRows(int64_t rows) {
  auto sealed = records_.Seal(std::to_string(rows), kLedgerRowsAd);
  if (!sealed.ok()) return sealed.status();
  return db_->SetMeta("privacy_ledger_rows", *sealed);
}

absl::Status Store::SpendPrivacy(const PrivacySpend& spend,
                                 double budget_per_wave) {
  auto tx = storage::Transaction::Begin(*db_->sql,
                                        storage::Transaction::Mode::kImmediate);
  if (!tx.ok()) return tx.status();
  auto spent = PrivacySpent();
  if (!spent.ok()) return spent.status();
  if (std::optional<std::string> refusal =
          BudgetRefusal(*spent, spend.waves, spend.rho, budget_per_wave)) {
    return absl::ResourceExhaustedError(*refusal);
  }
  if (absl::Status s = MarkContributed(spend.query_id); !s.ok()) return s;
  auto max_id = db_->ReadInt("SELECT IFNULL(MAX(id), 0) FROM privacy_spent");
  if (!max_id.ok()) return max_id.status();
  const int64_t id = *max_id + 1;
  auto sealed = records_.Seal(SpendJson(spend), SpendAd(id));
  if (!sealed.ok()) return sealed.status();
  auto ins =
      db_->sql->Prepare("INSERT INTO privacy_spent(id, sealed) VALUES(?, ?)");
  if (!ins.ok()) return ins.status();
  if (absl::Status s = ins->Bind(1, id).Bind(2, *sealed).Run(); !s.ok()) {
    return s;
  }
  if (absl::Status s = SetLedgerRows(id); !s.ok()) return s;
  return tx->Commit();
}

absl::StatusOr<std::vector<PrivacySpend>> Store::PrivacySpent() const {
  auto st =
      db_->sql->Prepare("SELECT id, sealed FROM privacy_spent ORDER BY id");
  if (!st.ok()) return st.status();
  // Rows are numbered 1..n and n is sealed in the meta table, so a row
  // removed (to free budget) is noticed like a row changed.
  auto rows = LedgerRows();
  if (!rows.ok()) return rows.status();
  std::vector<PrivacySpend> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t id = st->Int(0);
    if (id != static_cast<int64_t>(out.size()) + 1) {
      return absl::DataLossError(StrCat("privacy ledger row ", out.size() + 1,
                                        " is missing (removed?)"));
    }
    auto plain = records_.Open(st->Blob(1), SpendAd(id));
    if (!plain.ok()) {
      return absl::DataLossError(StrCat("privacy ledger row ", id,
                                        " was tampered with or is damaged"));
    }
    auto spend = ParseSpend(plain->view(), id);
    if (!spend.ok()) return spend.status();
    out.push_back(*std::move(spend));
  }
  if (static_cast<int64_t>(out.size()) != *rows) {
    return absl::DataLossError(StrCat("the privacy ledger has ", out.size(),
                                      " rows but recorded ", *rows,
                                      " (rows were removed?)"));
  }
  return out;
}

absl::StatusOr<bool> Store::Contributed(std::string_view query_id) const {
  auto st = db_->sql->Prepare("SELECT 1 FROM contributed WHERE query_id = ?");
  if (!st.ok()) return st.status();
  return st->BindText(1, query_id).Step();
}

absl::StatusOr<bool> Store::ReadmitPupil(std::string_view pupil_number) {
  auto del = db_->sql->Prepare("DELETE FROM erased WHERE tag = ?");
  if (!del.ok()) return del.status();
  const std::string tag = PupilErasureTag(tag_key_, Pseudonym(pupil_number));
  if (auto s = del->Bind(1, tag).Run(); !s.ok()) return s;
  return db_->sql->Changes() > 0;
}

absl::Status Store::Scrub() {
  // Rebuild the file without free pages, then move everything from the WAL
  // into it and truncate the WAL, so erased rows exist nowhere on disk.
  return db_->sql->Exec(
      "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; "
      "PRAGMA wal_checkpoint(TRUNCATE);");
}

SecretBytes Store::DeriveSubkey(std::string_view purpose) const {
  // Cannot fail: the data key is 32 bytes and the label is not empty.
  return *crypto::DeriveKey(data_key_, "kring-node-subkey-v1", purpose);
}

absl::Status Store::RotateKey(const KeySource& next) {
  auto wrapped = Wrap(data_key_, next, /*create_key_file=*/
                      next.kind == KeySource::Kind::kKeyFile);
  if (!wrapped.ok()) return wrapped.status();
  {
    auto tx = storage::Transaction::Begin(
        *db_->sql, storage::Transaction::Mode::kImmediate);
    if (!tx.ok()) return tx.status();
    if (auto s = db_->SetMeta("key_kind", wrapped->first); !s.ok()) return s;
    if (auto s = db_->SetMeta("wrapped_key", wrapped->second); !s.ok()) {
      return s;
    }
    if (auto s = tx->Commit(); !s.ok()) return s;
  }
  return Scrub();
}

}  // namespace kring::node
