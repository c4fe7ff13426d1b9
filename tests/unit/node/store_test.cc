#include "node/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using crypto::SecretBytes;
using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-store-XXXXXX")
            .string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

KeySource Pass(std::string_view p) {
  KeySource k = KeySource::Passphrase(SecretBytes::CopyFrom(p));
  k.limits = crypto::PasswordHashLimits::Interactive();  // fast tests
  return k;
}

v1::PupilRecord MakeRecord(const Store& store, std::string_view pupil,
                           std::string_view wave, uint32_t answer) {
  v1::PupilRecord r;
  r.set_pseudonym(store.Pseudonym(pupil));
  r.set_wave(std::string(wave));
  r.set_survey_month(3);
  r.set_sector(v1::SECTOR_VO);
  r.set_track(v1::TRACK_HAVO);
  r.set_grade(2);
  r.set_gender(v1::GENDER_MEISJE);
  r.set_age_band(v1::AGE_BAND_12_13);
  r.set_instrument_id("kring-belonging-v1");
  for (int i = 0; i < 6; ++i) r.add_responses(answer);
  return r;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Everything the store keeps on disk, concatenated.
std::string DiskBytes(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("node.db")) {
      all += ReadAll(e.path());
    }
  }
  return all;
}

TEST(StoreTest, InitAddOpenRoundTrip) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    std::vector<v1::PupilRecord> batch = {
        MakeRecord(store, "123456", "2025-26", 3),
        MakeRecord(store, "654321", "2025-26", 4)};
    KRING_ASSERT_OK_AND_ASSIGN(ImportResult r,
                               store.Add(batch, store.FileTag("f1"), false));
    EXPECT_EQ(r.added, 2u);
  }
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(2u));
  std::vector<uint32_t> answers;
  KRING_ASSERT_OK(store.ForEach([&](const v1::PupilRecord& r) {
    answers.push_back(r.responses(0));
    EXPECT_EQ(r.wave(), "2025-26");
  }));
  EXPECT_EQ(answers, (std::vector<uint32_t>{3, 4}));
  struct stat st;
  ASSERT_EQ(stat(store.database_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(StoreTest, WrongPassphraseIsRefused) {
  TempDir dir;
  KRING_ASSERT_OK(Store::Init(dir.path(), Pass("right"), {}).status());
  EXPECT_THAT(Store::Open(dir.path(), Pass("wrong")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(StoreTest, InitRefusesExistingStoreAndOpenRefusesMissingOne) {
  TempDir dir;
  KRING_ASSERT_OK(Store::Init(dir.path(), Pass("pw"), {}).status());
  EXPECT_THAT(Store::Init(dir.path(), Pass("pw"), {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Store::Open(dir.path() / "nope", Pass("pw")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("init")));
}

TEST(StoreTest, KeyFileMode) {
  TempDir dir;
  auto key_file = dir.path() / "node.key";
  KRING_ASSERT_OK(
      Store::Init(dir.path() / "data", KeySource::KeyFile(key_file), {})
          .status());
  struct stat st;
  ASSERT_EQ(stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(Store::Open(dir.path() / "data", KeySource::KeyFile(key_file)),
              IsOk());
  // A key file from another store does not unlock this one.
  auto other = dir.path() / "other.key";
  KRING_ASSERT_OK(
      Store::Init(dir.path() / "data2", KeySource::KeyFile(other), {})
          .status());
  EXPECT_THAT(Store::Open(dir.path() / "data", KeySource::KeyFile(other)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Nor a passphrase, nor a key file others can read.
  EXPECT_THAT(Store::Open(dir.path() / "data", Pass("pw")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(chmod(key_file.c_str(), 0644), 0);
  EXPECT_THAT(
      Store::Open(dir.path() / "data", KeySource::KeyFile(key_file)),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
}

TEST(StoreTest, BatchWithDuplicatePupilImportsNothing) {
  TempDir dir;
  KRING_ASSERT_OK_AND_ASSIGN(Store store,
                             Store::Init(dir.path(), Pass("pw"), {}));
  std::vector<v1::PupilRecord> batch = {
      MakeRecord(store, "1", "2025-26", 1),
      MakeRecord(store, "2", "2025-26", 1),
      MakeRecord(store, " 1 ", "2025-26", 2)};  // same pupil, same wave
  EXPECT_THAT(
      store.Add(batch, store.FileTag("f"), false),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("record 3")));
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(0u));
  // The same pupil in another wave is fine.
  batch[2].set_wave("2026-27");
  EXPECT_THAT(store.Add(batch, store.FileTag("f"), false), IsOk());
  // And across imports a duplicate is refused as well.
  std::vector<v1::PupilRecord> again = {MakeRecord(store, "2", "2025-26", 4)};
  EXPECT_THAT(store.Add(again, store.FileTag("g"), false),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(3u));
}

TEST(StoreTest, ReimportNeedsReplace) {
  TempDir dir;
  KRING_ASSERT_OK_AND_ASSIGN(Store store,
                             Store::Init(dir.path(), Pass("pw"), {}));
  std::vector<v1::PupilRecord> batch = {MakeRecord(store, "1", "2025-26", 1),
                                        MakeRecord(store, "2", "2025-26", 1)};
  const std::string tag = store.FileTag("file bytes");
  KRING_ASSERT_OK(store.Add(batch, tag, false).status());
  EXPECT_THAT(store.WasImported(tag), ::kring::testing::IsOkAndHolds(true));
  EXPECT_THAT(
      store.Add(batch, tag, false),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("--replace")));
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult r, store.Add(batch, tag, true));
  EXPECT_EQ(r.replaced, 2u);
  EXPECT_EQ(r.added, 2u);
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(2u));
}

// Runs SQL against the raw database file, as an attacker with the file
// (but not the key) could.
void RawSql(const std::filesystem::path& db, const char* sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(h, sql, nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

TEST(StoreTest, TamperedRecordsAreDetected) {
  for (const char* attack :
       {"UPDATE records SET sealed = substr(sealed, 1, 40) || "
        "x'00' || substr(sealed, 42) WHERE id = 2",
        "UPDATE records SET sealed = (SELECT sealed FROM records WHERE id = 1)"
        " WHERE id = 2",
        "UPDATE records SET id = 7 WHERE id = 2",
        "UPDATE records SET dup_tag = x'00112233445566778899aabbccddeeff' "
        "WHERE id = 1"}) {
    TempDir dir;
    {
      KRING_ASSERT_OK_AND_ASSIGN(Store store,
                                 Store::Init(dir.path(), Pass("pw"), {}));
      std::vector<v1::PupilRecord> batch = {
          MakeRecord(store, "1", "2025-26", 1),
          MakeRecord(store, "2", "2025-26", 2)};
      KRING_ASSERT_OK(store.Add(batch, store.FileTag("f"), false).status());
    }
    RawSql(dir.path() / "node.db", attack);
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Open(dir.path(), Pass("pw")));
    EXPECT_THAT(store.ForEach([](const v1::PupilRecord&) {}),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("fails authentication")))
        << attack;
  }
}

TEST(StoreTest, CopiedFileWithoutKeyRevealsNoContent) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    std::vector<v1::PupilRecord> batch;
    for (int i = 0; i < 50; ++i) {
      batch.push_back(
          MakeRecord(store, std::to_string(1000 + i), "2025-26", 1 + i % 4));
    }
    KRING_ASSERT_OK(store.Add(batch, store.FileTag("f"), false).status());
  }
  std::string disk = DiskBytes(dir.path());
  for (std::string_view secret :
       {"2025-26", "kring-belonging", "havo", "meisje", "1000", "1049"}) {
    EXPECT_EQ(disk.find(secret), std::string::npos) << secret;
  }
}

TEST(StoreTest, ErasedRecordsAreGoneFromDisk) {
  TempDir dir;
  KRING_ASSERT_OK_AND_ASSIGN(Store store,
                             Store::Init(dir.path(), Pass("pw"), {}));
  std::vector<v1::PupilRecord> batch = {MakeRecord(store, "111", "2024-25", 1),
                                        MakeRecord(store, "111", "2025-26", 2),
                                        MakeRecord(store, "222", "2025-26", 3),
                                        MakeRecord(store, "333", "2024-25", 4)};
  KRING_ASSERT_OK(store.Add(batch, store.FileTag("f"), false).status());
  // The ciphertexts as they are on disk now.
  std::vector<std::string> sealed;
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(store.database_path().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT sealed FROM records ORDER BY id", -1, &st,
                       nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      sealed.emplace_back(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                          static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  ASSERT_EQ(sealed.size(), 4u);
  EXPECT_THAT(store.ErasePupil("111"), ::kring::testing::IsOkAndHolds(2u));
  std::string disk = DiskBytes(dir.path());
  EXPECT_EQ(disk.find(sealed[0]), std::string::npos);
  EXPECT_EQ(disk.find(sealed[1]), std::string::npos);
  EXPECT_NE(disk.find(sealed[2]), std::string::npos);
  EXPECT_THAT(store.EraseWave("2024-25"), ::kring::testing::IsOkAndHolds(1u));
  disk = DiskBytes(dir.path());
  EXPECT_EQ(disk.find(sealed[3]), std::string::npos);
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(1u));
  EXPECT_THAT(store.ErasePupil("999"), ::kring::testing::IsOkAndHolds(0u));
}

TEST(StoreTest, ErasureSticksAcrossReimportsUntilReadmitted) {
  TempDir dir;
  std::vector<v1::PupilRecord> batch;
  const std::string file = "the school's export";
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    batch = {MakeRecord(store, "111", "2024-25", 1),
             MakeRecord(store, "111", "2025-26", 2),
             MakeRecord(store, "222", "2025-26", 3),
             MakeRecord(store, "333", "2023-24", 4)};
    KRING_ASSERT_OK(store.Add(batch, store.FileTag(file), false).status());
    // The pupil number as typed differently still names the same pupil.
    EXPECT_THAT(store.ErasePupil(" 111 "), ::kring::testing::IsOkAndHolds(2u));
    // A wave erased for retention or correction may come back.
    EXPECT_THAT(store.EraseWave("2023-24"), ::kring::testing::IsOkAndHolds(1u));
    // An erasure request for a pupil not (yet) imported also sticks.
    EXPECT_THAT(store.ErasePupil("444"), ::kring::testing::IsOkAndHolds(0u));
  }
  // Reopened: the same file again, and a later file with pupil 444.
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  EXPECT_THAT(store.ErasedPupils(), ::kring::testing::IsOkAndHolds(2u));
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult again,
                             store.Add(batch, store.FileTag(file), true));
  EXPECT_EQ(again.replaced, 1u);
  EXPECT_EQ(again.added, 2u);
  EXPECT_EQ(again.skipped_erased, 2u);
  std::vector<v1::PupilRecord> later = {MakeRecord(store, "444", "2025-26", 5),
                                        MakeRecord(store, "555", "2025-26", 5)};
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult next,
                             store.Add(later, store.FileTag("later"), false));
  EXPECT_EQ(next.added, 1u);
  EXPECT_EQ(next.skipped_erased, 1u);
  std::set<std::string> stored;
  KRING_ASSERT_OK(store.ForEach([&](const v1::PupilRecord& r) {
    stored.insert(r.pseudonym() + "/" + r.wave());
  }));
  EXPECT_EQ(stored,
            (std::set<std::string>{store.Pseudonym("222") + "/2025-26",
                                   store.Pseudonym("333") + "/2023-24",
                                   store.Pseudonym("555") + "/2025-26"}));

  // Readmitting lifts only the erasure it names; nothing comes back by
  // itself.
  EXPECT_THAT(store.ReadmitPupil("111"), ::kring::testing::IsOkAndHolds(true));
  EXPECT_THAT(store.ReadmitPupil("111"), ::kring::testing::IsOkAndHolds(false));
  EXPECT_THAT(store.ReadmitPupil("222"), ::kring::testing::IsOkAndHolds(false));
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(3u));
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult readmitted,
                             store.Add(batch, store.FileTag(file), true));
  EXPECT_EQ(readmitted.added, 4u);
  EXPECT_EQ(readmitted.skipped_erased, 0u);
  KRING_ASSERT_OK_AND_ASSIGN(
      ImportResult still,
      store.Add(later, store.FileTag("later"), /*replace=*/true));
  EXPECT_EQ(still.skipped_erased, 1u);  // 444 was not readmitted
}

TEST(StoreTest, ErasureTagsNameNoPupilOnDisk) {
  TempDir dir;
  KRING_ASSERT_OK_AND_ASSIGN(Store store,
                             Store::Init(dir.path(), Pass("pw"), {}));
  const std::string pseudonym = store.Pseudonym("PUPIL-7734");
  KRING_ASSERT_OK(store.ErasePupil("PUPIL-7734").status());
  const std::string disk = DiskBytes(dir.path());
  EXPECT_EQ(disk.find("7734"), std::string::npos);
  EXPECT_EQ(disk.find(pseudonym), std::string::npos);
  EXPECT_EQ(disk.find(pseudonym.substr(0, 16)), std::string::npos);
}

TEST(StoreTest, VersionOneStoreIsUpgradedOnOpen) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
  }
  // A store as version 1 left it.
  RawSql(dir.path() / "node.db",
         "DROP TABLE erased; UPDATE meta SET value = '1' WHERE key = "
         "'schema_version';");
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  EXPECT_THAT(store.ErasePupil("1"), ::kring::testing::IsOkAndHolds(0u));
  std::vector<v1::PupilRecord> batch = {MakeRecord(store, "1", "2025-26", 1)};
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult r,
                             store.Add(batch, store.FileTag("f"), false));
  EXPECT_EQ(r.skipped_erased, 1u);
  // Upgraded: a kring-node that knows only version 1 now refuses the store
  // instead of importing erased pupils again; the privacy ledger starts
  // empty.
  EXPECT_THAT(store.PrivacySpent(),
              ::kring::testing::IsOkAndHolds(::testing::IsEmpty()));
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(store.database_path().c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = 'schema_version'",
                     -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))),
      "3");
  sqlite3_finalize(st);
  sqlite3_close(h);
}

// The format the packages' previous release (schema 2) left on a school
// server: an upgraded kring-node opens it with everything in it.
TEST(StoreTest, VersionTwoStoreIsUpgradedWithItsData) {
  TempDir dir;
  std::string pseudonym;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    std::vector<v1::PupilRecord> batch = {MakeRecord(store, "1", "2025-26", 1),
                                          MakeRecord(store, "2", "2025-26", 2)};
    KRING_ASSERT_OK(store.Add(batch, store.FileTag("f"), false).status());
    KRING_ASSERT_OK(store.ErasePupil("2").status());
    KRING_ASSERT_OK(store.MarkContributed("q-1"));
    pseudonym = store.Pseudonym("1");
  }
  // Schema 2 had no privacy ledger.
  RawSql(dir.path() / "node.db",
         "DROP TABLE privacy_spent; UPDATE meta SET value = '2' WHERE key = "
         "'schema_version';");
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(1u));
  EXPECT_EQ(store.Pseudonym("1"), pseudonym);
  EXPECT_THAT(store.ErasedPupils(), ::kring::testing::IsOkAndHolds(1u));
  EXPECT_THAT(store.Contributed("q-1"), ::kring::testing::IsOkAndHolds(true));
  EXPECT_THAT(store.PrivacySpent(),
              ::kring::testing::IsOkAndHolds(::testing::IsEmpty()));
  std::vector<v1::PupilRecord> again = {MakeRecord(store, "2", "2025-26", 2)};
  KRING_ASSERT_OK_AND_ASSIGN(ImportResult r,
                             store.Add(again, store.FileTag("g"), false));
  EXPECT_EQ(r.skipped_erased, 1u);  // the erasure survived the upgrade
}

TEST(StoreTest, UnknownSchemaVersionIsRefused) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
  }
  RawSql(dir.path() / "node.db",
         "UPDATE meta SET value = '4' WHERE key = 'schema_version';");
  EXPECT_THAT(Store::Open(dir.path(), Pass("pw")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schema version 4")));
}

TEST(StoreTest, RotateKeyRewrapsTheDataKey) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("old"), {}));
    std::vector<v1::PupilRecord> batch = {MakeRecord(store, "1", "2025-26", 1)};
    KRING_ASSERT_OK(store.Add(batch, store.FileTag("f"), false).status());
    KRING_ASSERT_OK(store.RotateKey(Pass("new")));
  }
  EXPECT_THAT(Store::Open(dir.path(), Pass("old")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Open(dir.path(), Pass("new")));
    EXPECT_THAT(store.Count(), ::kring::testing::IsOkAndHolds(1u));
    KRING_ASSERT_OK(store.RotateKey(KeySource::KeyFile(dir.path() / "k")));
  }
  KRING_ASSERT_OK_AND_ASSIGN(
      Store store,
      Store::Open(dir.path(), KeySource::KeyFile(dir.path() / "k")));
  EXPECT_THAT(store.ForEach([](const v1::PupilRecord& r) {
    EXPECT_EQ(r.responses(0), 1u);
  }),
              IsOk());
}

TEST(StoreTest, SubkeysAreStablePerPurposeAndSurviveRotation) {
  TempDir dir, other;
  SecretBytes audit, tags;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("old"), {}));
    audit = store.DeriveSubkey("audit-log-v1");
    tags = store.DeriveSubkey("something-else-v1");
    KRING_ASSERT_OK(store.RotateKey(Pass("new")));
    EXPECT_TRUE(store.DeriveSubkey("audit-log-v1") == audit);
  }
  EXPECT_EQ(audit.size(), 32u);
  EXPECT_FALSE(audit == tags);
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("new")));
  EXPECT_TRUE(store.DeriveSubkey("audit-log-v1") == audit);
  KRING_ASSERT_OK_AND_ASSIGN(Store another,
                             Store::Init(other.path(), Pass("old"), {}));
  EXPECT_FALSE(another.DeriveSubkey("audit-log-v1") == audit);
}

TEST(StoreTest, PseudonymsAreKeyedPerSchoolAndNormalised) {
  TempDir a, b;
  KRING_ASSERT_OK_AND_ASSIGN(Store sa, Store::Init(a.path(), Pass("pw"), {}));
  KRING_ASSERT_OK_AND_ASSIGN(Store sb, Store::Init(b.path(), Pass("pw"), {}));
  EXPECT_EQ(sa.Pseudonym("ab123"), sa.Pseudonym(" AB123 "));
  EXPECT_EQ(sa.Pseudonym("ab123").size(), 32u);
  EXPECT_NE(sa.Pseudonym("ab123"), sa.Pseudonym("ab124"));
  EXPECT_NE(sa.Pseudonym("ab123"), sb.Pseudonym("ab123"));
}

TEST(StoreTest, SpecialCategoryOptionIsPersisted) {
  TempDir dir;
  StoreOptions opts;
  opts.special_categories = true;
  KRING_ASSERT_OK(Store::Init(dir.path(), Pass("pw"), opts).status());
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  EXPECT_TRUE(store.options().special_categories);
}

// The privacy ledger: charged with the contribution mark or not at all,
// kept across openings, refused past a wave's budget, sealed.
TEST(StoreTest, PrivacySpendsAreChargedOnceAndKeptWithinTheBudget) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    KRING_ASSERT_OK(store.SpendPrivacy(
        {"q-1", {"2024-25", "2025-26"}, 0.4, "alice", 1000}, 1.0));
    KRING_ASSERT_OK(
        store.SpendPrivacy({"q-2", {"2025-26"}, 0.5, "bob", 2000}, 1.0));
    // Same query again: refused, nothing charged.
    EXPECT_THAT(store.SpendPrivacy({"q-2", {"2024-25"}, 0.1, "bob", 3000}, 1.0),
                StatusIs(absl::StatusCode::kAlreadyExists));
    // 0.9 spent on 2025-26: 0.2 more would exceed 1.0.
    EXPECT_THAT(store.SpendPrivacy(
                    {"q-3", {"2024-25", "2025-26"}, 0.2, "c", 4000}, 1.0),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("wave 2025-26")));
    EXPECT_THAT(store.Contributed("q-3"),
                ::kring::testing::IsOkAndHolds(false));
  }
  KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(dir.path(), Pass("pw")));
  KRING_ASSERT_OK_AND_ASSIGN(std::vector<PrivacySpend> spent,
                             store.PrivacySpent());
  ASSERT_EQ(spent.size(), 2u);
  EXPECT_EQ(spent[0].query_id, "q-1");
  EXPECT_EQ(spent[0].requester, "alice");
  EXPECT_EQ(spent[0].unix_millis, 1000);
  EXPECT_EQ(spent[1].waves, std::vector<std::string>{"2025-26"});
  const auto by_wave = SpentByWave(spent);
  EXPECT_DOUBLE_EQ(by_wave.at("2024-25"), 0.4);
  EXPECT_DOUBLE_EQ(by_wave.at("2025-26"), 0.9);
  EXPECT_THAT(store.Contributed("q-1"), ::kring::testing::IsOkAndHolds(true));
  // Another wave still has room.
  KRING_EXPECT_OK(
      store.SpendPrivacy({"q-4", {"2024-25"}, 0.6, "c", 5000}, 1.0));
}

TEST(StoreTest, ATamperedPrivacyLedgerIsDetected) {
  TempDir dir;
  {
    KRING_ASSERT_OK_AND_ASSIGN(Store store,
                               Store::Init(dir.path(), Pass("pw"), {}));
    KRING_ASSERT_OK(
        store.SpendPrivacy({"q-1", {"2025-26"}, 0.5, "alice", 1000}, 1.0));
    KRING_ASSERT_OK(
        store.SpendPrivacy({"q-2", {"2025-26"}, 0.4, "bob", 1000}, 1.0));
  }
  // Moving a row, deleting one or all of them are refused.
  for (const char* attack :
       {"UPDATE privacy_spent SET id = 9 WHERE id = 2",
        "DELETE FROM privacy_spent WHERE id = 2",
        "DELETE FROM privacy_spent WHERE id = 1", "DELETE FROM privacy_spent",
        "UPDATE privacy_spent SET sealed = (SELECT sealed FROM privacy_spent "
        "WHERE id = 1) WHERE id = 2"}) {
    const std::filesystem::path copy = dir.path() / "copy";
    std::filesystem::remove_all(copy);
    std::filesystem::create_directories(copy);
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      if (f.is_regular_file()) {
        std::filesystem::copy_file(f.path(), copy / f.path().filename());
      }
    }
    RawSql(copy / "node.db", attack);
    KRING_ASSERT_OK_AND_ASSIGN(Store store, Store::Open(copy, Pass("pw")));
    EXPECT_THAT(store.PrivacySpent(),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("privacy")))
        << attack;
    EXPECT_THAT(store.SpendPrivacy({"q-3", {"2025-26"}, 0.01, "c", 1}, 1.0),
                StatusIs(absl::StatusCode::kDataLoss))
        << attack;
  }
}

TEST(BudgetTest, RefusalNamesTheWaveAndTheFigures) {
  const std::vector<PrivacySpend> spent = {{"q-1", {"2025-26"}, 0.75, "a", 0}};
  EXPECT_EQ(BudgetRefusal(spent, {"2025-26"}, 0.25, 1.0), std::nullopt);
  auto no = BudgetRefusal(spent, {"2024-25", "2025-26"}, 0.3, 1.0);
  ASSERT_TRUE(no.has_value());
  EXPECT_THAT(*no, HasSubstr("wave 2025-26"));
  EXPECT_THAT(*no, HasSubstr("0.75 of 1 used"));
  EXPECT_EQ(BudgetRefusal(spent, {}, 5.0, 1.0), std::nullopt);
}

}  // namespace
}  // namespace kring::node
