#include "node/store.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <system_error>
#include <unordered_set>

#include "absl/status/status.h"
#include "crypto/init.h"
#include "crypto/internal/encoding.h"
#include "crypto/internal/files.h"
#include "crypto/key_agreement.h"
#include "node/internal/sqlite.h"
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

std::string_view View(const void* data, int size) {
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

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

}  // namespace

// A thin RAII layer over the SQLite C API.
struct Store::Db : internal::SqliteHandle {
  Db() : SqliteHandle("node database") {}

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
    sqlite3_stmt* get() { return stmt_; }
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
    void Reset() {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    std::string_view Blob(int col) {
      return View(sqlite3_column_blob(stmt_, col),
                  sqlite3_column_bytes(stmt_, col));
    }
    int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

   private:
    sqlite3_stmt* stmt_ = nullptr;
  };

  absl::Status SetMeta(std::string_view key, std::string_view value) {
    Statement st(handle,
                 "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
    if (!st.ok()) return Error("prepare meta");
    st.BindText(1, key);
    st.Bind(2, value);
    if (st.Step() != SQLITE_DONE) return Error("write meta");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> GetMeta(std::string_view key) {
    Statement st(handle, "SELECT value FROM meta WHERE key = ?");
    if (!st.ok()) return Error("prepare meta");
    st.BindText(1, key);
    if (st.Step() != SQLITE_ROW) {
      return absl::DataLossError(
          StrCat("node database is incomplete: missing \"", key,
                 "\"; was it created by `kring-node init`?"));
    }
    return std::string(st.Blob(0));
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
  {
    auto db = std::make_unique<Store::Db>();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db->handle, flags, nullptr) !=
        SQLITE_OK) {
      std::string msg =
          db->handle != nullptr ? sqlite3_errmsg(db->handle) : "out of memory";
      if (!create && !std::filesystem::exists(path)) {
        return absl::NotFoundError(StrCat("no kring node data at ",
                                          path.parent_path().string(),
                                          "; run `kring-node init` first"));
      }
      return absl::InternalError(
          StrCat("cannot open ", path.string(), ": ", msg));
    }
    sqlite3_busy_timeout(db->handle, 5000);
    // secure_delete overwrites freed content; WAL keeps old pages out of
    // the main file until a checkpoint overwrites them (see Scrub).
    if (auto s = db->Exec("PRAGMA secure_delete = ON;"
                          "PRAGMA journal_mode = WAL;"
                          "PRAGMA synchronous = NORMAL;"
                          "PRAGMA foreign_keys = ON;"
                          // Stores of schema version 1 lack these.
                          "CREATE TABLE IF NOT EXISTS erased("
                          "  tag BLOB PRIMARY KEY) WITHOUT ROWID;"
                          "CREATE TABLE IF NOT EXISTS contributed("
                          "  query_id TEXT PRIMARY KEY) WITHOUT ROWID;");
        !s.ok()) {
      return s;
    }
    return db;
  }
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
  if (auto s = (*db)->Exec(
          "BEGIN;"
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
          "CREATE TABLE imports(id INTEGER PRIMARY KEY,"
          "  file_tag BLOB NOT NULL UNIQUE);"
          "CREATE TABLE records(id INTEGER PRIMARY KEY,"
          "  import_id INTEGER NOT NULL REFERENCES imports(id),"
          "  dup_tag BLOB NOT NULL, sealed BLOB NOT NULL);");
      !s.ok()) {
    return s;
  }
  SecretBytes data_key = SecretBytes::Random(kKeyBytes);
  SecretBytes pseudonym_key = SecretBytes::Random(kKeyBytes);
  auto wrapped = Wrap(data_key, key, /*create_key_file=*/true);
  if (!wrapped.ok()) {
    (void)(*db)->Exec("ROLLBACK;");
    db->reset();
    std::filesystem::remove(path);
    return wrapped.status();
  }
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
           {"special_categories", options.special_categories ? "1" : "0"}}) {
    if (auto s = (*db)->SetMeta(k, v); !s.ok()) return s;
  }
  if (auto s = (*db)->Exec("COMMIT;"); !s.ok()) return s;
  return Store(dir, *std::move(db), std::move(data_key),
               std::move(pseudonym_key), options);
}

absl::StatusOr<Store> Store::Open(const std::filesystem::path& dir,
                                  const KeySource& key) {
  if (auto s = crypto::Init(); !s.ok()) return s;
  auto db = OpenDb(dir / kDatabaseFile, /*create=*/false);
  if (!db.ok()) return db.status();
  return Unlock(dir, *std::move(db), key);
}

absl::StatusOr<Store> Store::Unlock(const std::filesystem::path& dir,
                                    std::unique_ptr<Db> db,
                                    const KeySource& key) {
  auto version = db->GetMeta("schema_version");
  if (!version.ok()) return version.status();
  const bool upgrade = *version == "1";
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
  absl::StatusOr<SecretBytes> data_key;
  if (*kind == "passphrase") {
    if (key.kind != KeySource::Kind::kPassphrase) {
      return absl::InvalidArgumentError(
          "this store is protected by a passphrase, not a key file; set "
          "KRING_NODE_PASSPHRASE or answer the prompt");
    }
    data_key = crypto::UnwrapKey(*wrapped, key.passphrase);
  } else {
    if (key.kind != KeySource::Kind::kKeyFile) {
      return absl::InvalidArgumentError(
          "this store is protected by a key file; pass --key-file");
    }
    auto file_key = ReadKeyFile(key.key_file);
    if (!file_key.ok()) return file_key.status();
    auto aead = Aead::Create(*std::move(file_key));
    if (!aead.ok()) return aead.status();
    data_key = aead->Open(*wrapped, kKeyFileWrapAd);
    if (!data_key.ok()) {
      return absl::PermissionDeniedError(
          "this key file does not unlock the store (wrong key file?)");
    }
  }
  if (!data_key.ok()) return data_key.status();
  auto aead = Aead::Create(data_key->Clone());
  auto pseudonym_key = aead->Open(*sealed_pseudonym, kPseudonymAd);
  if (!pseudonym_key.ok()) {
    return absl::DataLossError(
        "the store's pseudonym secret is damaged or was tampered with");
  }
  if (upgrade) {
    // Version 1 lacked only two lists, which OpenDb has created.
    if (auto s = db->SetMeta("schema_version", std::to_string(kSchemaVersion));
        !s.ok()) {
      return s;
    }
  }
  StoreOptions options;
  options.special_categories = *special == "1";
  return Store(dir, std::move(db), *std::move(data_key),
               *std::move(pseudonym_key), options);
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
  Db::Statement st(db_->handle, "SELECT id FROM imports WHERE file_tag = ?");
  if (!st.ok()) return db_->Error("prepare");
  st.Bind(1, file_tag);
  return st.Step() == SQLITE_ROW;
}

absl::StatusOr<ImportResult> Store::Add(
    std::span<const v1::PupilRecord> records, std::string_view file_tag,
    bool replace) {
  ImportResult result;
  if (auto s = db_->Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  auto fail = [&](absl::Status s) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  };
  {
    Db::Statement find(db_->handle,
                       "SELECT id FROM imports WHERE file_tag = ?");
    if (!find.ok()) return fail(db_->Error("prepare"));
    find.Bind(1, file_tag);
    if (find.Step() == SQLITE_ROW) {
      int64_t old = find.Int(0);
      if (!replace) {
        return fail(absl::AlreadyExistsError(
            "this file was imported before; nothing was imported. Use "
            "--replace to replace the records of that earlier import"));
      }
      Db::Statement del(db_->handle, "DELETE FROM records WHERE import_id = ?");
      del.Bind(1, old);
      if (del.Step() != SQLITE_DONE) return fail(db_->Error("replace"));
      result.replaced = static_cast<size_t>(sqlite3_changes(db_->handle));
      Db::Statement del_import(db_->handle, "DELETE FROM imports WHERE id = ?");
      del_import.Bind(1, old);
      if (del_import.Step() != SQLITE_DONE) return fail(db_->Error("replace"));
    }
  }
  {
    Db::Statement ins(db_->handle, "INSERT INTO imports(file_tag) VALUES(?)");
    ins.Bind(1, file_tag);
    if (ins.Step() != SQLITE_DONE) return fail(db_->Error("record import"));
    result.import_id =
        static_cast<uint64_t>(sqlite3_last_insert_rowid(db_->handle));
  }
  int64_t next_id = 1;
  {
    Db::Statement max(db_->handle, "SELECT IFNULL(MAX(id), 0) FROM records");
    if (max.Step() != SQLITE_ROW) return fail(db_->Error("read ids"));
    next_id = max.Int(0) + 1;
  }
  // One record per (wave, pupil): the keyed duplicate tags of what is
  // stored, checked in memory (a unique index on random tags would make
  // every insert a random B-tree write).
  struct TagHash {
    size_t operator()(const std::string& t) const {
      size_t h = 0;  // the tags are keyed hashes: any 8 bytes will do
      std::memcpy(&h, t.data(), std::min(sizeof h, t.size()));
      return h;
    }
  };
  std::unordered_set<std::string, TagHash> tags;
  {
    Db::Statement all(db_->handle, "SELECT dup_tag FROM records");
    if (!all.ok()) return fail(db_->Error("read duplicate tags"));
    int rc;
    while ((rc = all.Step()) == SQLITE_ROW) {
      tags.emplace(all.Blob(0));
    }
    if (rc != SQLITE_DONE) return fail(db_->Error("read duplicate tags"));
  }
  // Pupils erased earlier stay out.
  std::unordered_set<std::string, TagHash> erased;
  {
    Db::Statement all(db_->handle, "SELECT tag FROM erased");
    if (!all.ok()) return fail(db_->Error("read erasures"));
    int rc;
    while ((rc = all.Step()) == SQLITE_ROW) erased.emplace(all.Blob(0));
    if (rc != SQLITE_DONE) return fail(db_->Error("read erasures"));
  }
  std::vector<const v1::PupilRecord*> kept;
  kept.reserve(records.size());
  for (const v1::PupilRecord& r : records) {
    if (!erased.empty() &&
        erased.contains(PupilErasureTag(tag_key_, r.pseudonym()))) {
      ++result.skipped_erased;
      continue;
    }
    kept.push_back(&r);
  }
  tags.reserve(tags.size() + kept.size());
  Db::Statement ins(db_->handle,
                    "INSERT INTO records(id, import_id, dup_tag, sealed) "
                    "VALUES(?, ?, ?, ?)");
  if (!ins.ok()) return fail(db_->Error("prepare insert"));
  // Tag and seal every record on all cores, then insert in order.
  struct Sealed {
    std::string tag;
    absl::StatusOr<std::string> blob;
  };
  std::vector<Sealed> sealed(kept.size());
  ParallelFor(kept.size(), [&](size_t i) {
    const int64_t id = next_id + static_cast<int64_t>(i);
    sealed[i].tag = DupTag(tag_key_, *kept[i]);
    std::string plain;
    kept[i]->SerializeToString(&plain);
    sealed[i].blob = records_.Seal(plain, RecordAd(id, sealed[i].tag));
    sodium_memzero(plain.data(), plain.size());
  });
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!tags.insert(sealed[i].tag).second) {
      const size_t batch_index = static_cast<size_t>(kept[i] - records.data());
      return fail(absl::AlreadyExistsError(
          StrCat("record ", batch_index + 1,
                 " is a second record for the same pupil in wave ",
                 kept[i]->wave(), "; nothing was imported")));
    }
    if (!sealed[i].blob.ok()) return fail(sealed[i].blob.status());
    ins.Bind(1, next_id + static_cast<int64_t>(i));
    ins.Bind(2, static_cast<int64_t>(result.import_id));
    ins.Bind(3, sealed[i].tag);
    ins.Bind(4, *sealed[i].blob);
    int rc = ins.Step();
    ins.Reset();
    if (rc != SQLITE_DONE) return fail(db_->Error("insert record"));
  }
  if (auto s = db_->Exec("COMMIT;"); !s.ok()) return fail(s);
  result.added = kept.size();
  if (result.replaced > 0) {
    if (auto s = Scrub(); !s.ok()) return s;
  }
  return result;
}

absl::Status Store::Scan(
    const std::function<void(int64_t, const v1::PupilRecord&)>& f) const {
  Db::Statement st(db_->handle,
                   "SELECT id, dup_tag, sealed FROM records ORDER BY id");
  if (!st.ok()) return db_->Error("prepare");
  v1::PupilRecord record;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    const int64_t id = st.Int(0);
    auto plain = records_.Open(st.Blob(2), RecordAd(id, st.Blob(1)));
    if (!plain.ok() || !record.ParseFromArray(
                           plain->data(), static_cast<int>(plain->size()))) {
      return absl::DataLossError(
          StrCat("record ", id,
                 " fails authentication: the database was modified outside "
                 "kring-node (or is damaged); restore it from a backup"));
    }
    f(id, record);
  }
  if (rc != SQLITE_DONE) return db_->Error("read records");
  return absl::OkStatus();
}

absl::Status Store::ForEach(
    const std::function<void(const v1::PupilRecord&)>& f) const {
  return Scan([&](int64_t, const v1::PupilRecord& r) { f(r); });
}

absl::StatusOr<size_t> Store::Count() const {
  Db::Statement st(db_->handle, "SELECT COUNT(*) FROM records");
  if (st.Step() != SQLITE_ROW) return db_->Error("count");
  return static_cast<size_t>(st.Int(0));
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
  if (auto s = db_->Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  auto fail = [&](absl::Status s) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  };
  if (!erasure_tag.empty()) {
    Db::Statement remember(db_->handle,
                           "INSERT OR IGNORE INTO erased(tag) VALUES(?)");
    remember.Bind(1, erasure_tag);
    if (remember.Step() != SQLITE_DONE) return fail(db_->Error("erase"));
  }
  {
    Db::Statement del(db_->handle, "DELETE FROM records WHERE id = ?");
    for (int64_t id : ids) {
      del.Bind(1, id);
      if (del.Step() != SQLITE_DONE) return fail(db_->Error("erase"));
      del.Reset();
    }
  }
  if (auto s = db_->Exec("COMMIT;"); !s.ok()) return fail(s);
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
  Db::Statement st(db_->handle, "SELECT COUNT(*) FROM erased");
  if (st.Step() != SQLITE_ROW) return db_->Error("count erasures");
  return static_cast<size_t>(st.Int(0));
}

absl::Status Store::MarkContributed(std::string_view query_id) {
  Db::Statement ins(db_->handle, "INSERT INTO contributed(query_id) VALUES(?)");
  if (!ins.ok()) return db_->Error("prepare");
  ins.BindText(1, query_id);
  const int rc = ins.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(
        StrCat("this school already contributed to query ", query_id));
  }
  if (rc != SQLITE_DONE) return db_->Error("record the contribution");
  return absl::OkStatus();
}

absl::StatusOr<bool> Store::Contributed(std::string_view query_id) const {
  Db::Statement st(db_->handle, "SELECT 1 FROM contributed WHERE query_id = ?");
  if (!st.ok()) return db_->Error("prepare");
  st.BindText(1, query_id);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) return db_->Error("read contributions");
  return false;
}

absl::StatusOr<bool> Store::ReadmitPupil(std::string_view pupil_number) {
  Db::Statement del(db_->handle, "DELETE FROM erased WHERE tag = ?");
  if (!del.ok()) return db_->Error("prepare");
  del.Bind(1, PupilErasureTag(tag_key_, Pseudonym(pupil_number)));
  if (del.Step() != SQLITE_DONE) return db_->Error("readmit");
  return sqlite3_changes(db_->handle) > 0;
}

absl::Status Store::Scrub() {
  // Rebuild the file without free pages, then move everything from the WAL
  // into it and truncate the WAL, so erased rows exist nowhere on disk.
  if (auto s = db_->Exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; "
                         "PRAGMA wal_checkpoint(TRUNCATE);");
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

SecretBytes Store::DeriveSubkey(std::string_view purpose) const {
  // Cannot fail: the data key is 32 bytes and the label is not empty.
  return *crypto::DeriveKey(data_key_, "kring-node-subkey-v1", purpose);
}

absl::Status Store::RotateKey(const KeySource& next) {
  auto wrapped = Wrap(data_key_, next, /*create_key_file=*/
                      next.kind == KeySource::Kind::kKeyFile);
  if (!wrapped.ok()) return wrapped.status();
  if (auto s = db_->Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  if (auto s = db_->SetMeta("key_kind", wrapped->first); !s.ok()) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  }
  if (auto s = db_->SetMeta("wrapped_key", wrapped->second); !s.ok()) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  }
  if (auto s = db_->Exec("COMMIT;"); !s.ok()) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  }
  return Scrub();
}

}  // namespace kring::node
