#include "node/audit.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using crypto::SecretBytes;
using ::kring::testing::FakeClock;
using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Fields = std::vector<std::pair<std::string, std::string>>;

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-audit-XXXXXX")
            .string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

SecretBytes Key(char fill = 'k') {
  return SecretBytes::CopyFrom(std::string(32, fill));
}

// Runs SQL on audit.db directly, as someone with access to the file could.
void Tamper(const std::filesystem::path& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  const std::string path = (dir / AuditLog::kFileName).string();
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << msg;
}

class AuditLogTest : public ::testing::Test {
 protected:
  absl::StatusOr<AuditLog> Open(char key = 'k') {
    return AuditLog::Open(dir_.path(), Key(key), &clock_);
  }

  // A log with five entries, query ids q-1 ... q-5, one minute apart.
  void WriteFive() {
    auto log = Open();
    ASSERT_THAT(log, IsOk());
    for (int i = 1; i <= 5; ++i) {
      const std::string id = "q-" + std::to_string(i);
      ASSERT_THAT(log->Append("decision", "Declined query " + id,
                              {{"query_id", id}, {"reason", "too few"}}),
                  IsOk());
      clock_.Advance(60);
    }
    ASSERT_THAT(log->Verify(), IsOk());
  }

  absl::Status VerifyAfter(const std::string& sql) {
    Tamper(dir_.path(), sql);
    auto log = Open();
    if (!log.ok()) return log.status();
    return log->Verify();
  }

  TempDir dir_;
  FakeClock clock_;
};

TEST_F(AuditLogTest, AppendAndReadBack) {
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(log->Entries(), ::kring::testing::IsOkAndHolds(ElementsAre()));
  ASSERT_THAT(log->Append("import", "Imported 200 records from a.csv (kring)",
                          {{"file", "a.csv"}, {"records", "200"}}),
              IsOk());
  clock_.Advance(90);
  ASSERT_THAT(log->Append("rotate-key", "Protected the data key anew"), IsOk());
  auto entries = log->Entries();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 2u);
  const AuditEntry& first = (*entries)[0];
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(first.unix_time, 1767225600);
  EXPECT_EQ(first.kind, "import");
  EXPECT_EQ(first.summary, "Imported 200 records from a.csv (kring)");
  EXPECT_EQ(first.fields, (Fields{{"file", "a.csv"}, {"records", "200"}}));
  const AuditEntry& second = (*entries)[1];
  EXPECT_EQ(second.seq, 2u);
  EXPECT_EQ(second.unix_time, 1767225690);
  EXPECT_TRUE(second.fields.empty());
  EXPECT_THAT(log->Verify(), IsOk());
}

TEST_F(AuditLogTest, EmptyLogVerifies) {
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(log->Verify(), IsOk());
}

TEST_F(AuditLogTest, FileIsPrivate) {
  ASSERT_THAT(Open(), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "audit.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, MissingDirectoryIsNotFound) {
  EXPECT_THAT(AuditLog::Open(dir_.path() / "nope", Key(), &clock_),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "nope"));
}

TEST_F(AuditLogTest, KeyMustBe32Bytes) {
  EXPECT_THAT(AuditLog::Open(dir_.path(), SecretBytes::CopyFrom("short")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AuditLogTest, ReopeningContinuesTheChain) {
  {
    auto log = Open();
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT(log->Append("task", "Received query q-1"), IsOk());
    ASSERT_THAT(log->Append("decision", "Accepted query q-1"), IsOk());
  }
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT(log->Append("sent", "Sent the masked vector of query q-1",
                          {{"query_id", "q-1"}}),
              IsOk());
  auto entries = log->Entries();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[2].seq, 3u);
  EXPECT_THAT(log->Verify(), IsOk());
}

TEST_F(AuditLogTest, TwoHandlesOnOneFileInterleave) {
  auto a = Open();
  auto b = Open();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(a->Append("task", "one"), IsOk());
  ASSERT_THAT(b->Append("task", "two"), IsOk());
  ASSERT_THAT(a->Append("task", "three"), IsOk());
  EXPECT_THAT(b->Verify(), IsOk());
  EXPECT_EQ(b->Entries()->size(), 3u);
}

TEST_F(AuditLogTest, WrongKeyIsRefused) {
  WriteFive();
  EXPECT_THAT(Open('x'), StatusIs(absl::StatusCode::kPermissionDenied,
                                  HasSubstr("not written under this")));
}

TEST_F(AuditLogTest, RejectsEntriesThatWouldNotReadAsOneLine) {
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(log->Append("", "x"), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("Task", "x"), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", ""), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", "two\nlines"), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", "escape \x1b[2J"), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", "x", {{"a=b", "1"}}), StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", "x", {{"a", "1"}, {"a", "2"}}),
              StatusIs(kInvalid));
  EXPECT_THAT(log->Append("task", "x", {{"a", "1\n2"}}), StatusIs(kInvalid));
  EXPECT_THAT(log->Entries(), ::kring::testing::IsOkAndHolds(ElementsAre()));
  // '=' is fine in values, and an empty value too.
  EXPECT_THAT(log->Append("task", "x", {{"a", "b=c"}, {"d", ""}}), IsOk());
  EXPECT_EQ((*log->Entries())[0].fields, (Fields{{"a", "b=c"}, {"d", ""}}));
  EXPECT_THAT(log->Verify(), IsOk());
}

// The first entry's MAC, recomputed from the encoding documented in
// audit.h, pins the format.
TEST_F(AuditLogTest, MacFollowsTheDocumentedEncoding) {
  {
    auto log = Open();
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT(
        log->Append("task", "Received query q-1", {{"query_id", "q-1"}}),
        IsOk());
  }
  auto lp = [](std::string& m, std::string_view s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<char>(n >> (8 * i)));
    m.append(s);
  };
  auto u64 = [](std::string& m, uint64_t v) {
    for (int i = 0; i < 8; ++i) m.push_back(static_cast<char>(v >> (8 * i)));
  };
  std::string m = "kring-audit-entry-v1";
  u64(m, 1);
  u64(m, 1767225600);
  lp(m, "task");
  lp(m, "Received query q-1");
  m.append(std::string("\x01\0\0\0", 4));
  lp(m, "query_id");
  lp(m, "q-1");
  m.append(std::string(32, '\0'));
  const SecretBytes key = Key();
  unsigned char mac[32];
  crypto_generichash(mac, sizeof mac,
                     reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                     key.data(), key.size());

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "audit.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT mac FROM entries WHERE seq = 1", -1,
                               &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const std::string stored(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                           static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_EQ(stored, std::string(reinterpret_cast<char*>(mac), sizeof mac));
}

struct TamperCase {
  const char* name;
  const char* sql;
  const char* names;  // what the DATA_LOSS message must name
};

class AuditTamperTest : public AuditLogTest,
                        public ::testing::WithParamInterface<TamperCase> {};

TEST_P(AuditTamperTest, VerifyNamesTheEntry) {
  WriteFive();
  EXPECT_THAT(
      VerifyAfter(GetParam().sql),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr(GetParam().names)));
}

INSTANTIATE_TEST_SUITE_P(
    Tampering, AuditTamperTest,
    ::testing::Values(
        TamperCase{"EditSummary",
                   "UPDATE entries SET summary = 'Accepted query q-3' "
                   "WHERE seq = 3",
                   "entry 3 fails"},
        TamperCase{"EditKind", "UPDATE entries SET kind = 'task' WHERE seq = 4",
                   "entry 4 fails"},
        TamperCase{"EditField",
                   "UPDATE entries SET fields = replace(fields, 'too few', "
                   "'approved') WHERE seq = 2",
                   "entry 2 fails"},
        TamperCase{"RemoveField",
                   "UPDATE entries SET fields = 'query_id=q-2' WHERE seq = 2",
                   "entry 2 fails"},
        TamperCase{
            "FieldsSameMeaningOtherText",
            "UPDATE entries SET fields = fields || char(10) WHERE seq = 2",
            "entry 2 fails"},
        TamperCase{"ChangeTime",
                   "UPDATE entries SET unix_time = unix_time + 1 "
                   "WHERE seq = 2",
                   "entry 2 fails"},
        TamperCase{"EditMac",
                   "UPDATE entries SET mac = zeroblob(32) WHERE seq = 1",
                   "entry 1 fails"},
        TamperCase{"DeleteMiddle", "DELETE FROM entries WHERE seq = 3",
                   "entry 3 was removed"},
        TamperCase{"DeleteTwoInTheMiddle",
                   "DELETE FROM entries WHERE seq IN (2, 3)",
                   "entries 2 to 3 were removed"},
        TamperCase{"DeleteFirst", "DELETE FROM entries WHERE seq = 1",
                   "entry 1 was removed"},
        TamperCase{"DeleteLast", "DELETE FROM entries WHERE seq = 5",
                   "entry 5, the last one, was removed"},
        TamperCase{"DeleteLastTwo", "DELETE FROM entries WHERE seq >= 4",
                   "entries 4 to 5, the last ones, were removed"},
        TamperCase{"DeleteAll", "DELETE FROM entries",
                   "entries 1 to 5, the last ones, were removed"},
        TamperCase{"SwapContents",
                   "CREATE TEMP TABLE t AS SELECT * FROM entries "
                   "WHERE seq IN (2, 4);"
                   "UPDATE entries SET (unix_time, kind, summary, fields, mac) "
                   "= (SELECT unix_time, kind, summary, fields, mac FROM t "
                   "WHERE t.seq = 6 - entries.seq) WHERE seq IN (2, 4)",
                   "entry 2 fails"},
        TamperCase{"Reorder",
                   "UPDATE entries SET seq = 100 WHERE seq = 2;"
                   "UPDATE entries SET seq = 2 WHERE seq = 4;"
                   "UPDATE entries SET seq = 4 WHERE seq = 100",
                   "entry 2 fails"},
        TamperCase{"InsertForgedInTheMiddle",
                   "UPDATE entries SET seq = seq + 100 WHERE seq >= 3;"
                   "UPDATE entries SET seq = seq - 99 WHERE seq > 100;"
                   "INSERT INTO entries SELECT 3, unix_time, kind, "
                   "'Declined query q-9', fields, mac FROM entries "
                   "WHERE seq = 2",
                   "entry 3 fails"},
        TamperCase{"InsertForgedAtTheEnd",
                   "INSERT INTO entries SELECT 6, unix_time + 60, kind, "
                   "'Declined query q-6', fields, mac FROM entries "
                   "WHERE seq = 5",
                   "entry 6 was added"},
        TamperCase{"InsertForgedBeforeTheFirst",
                   "INSERT INTO entries SELECT 0, unix_time, kind, summary, "
                   "fields, mac FROM entries WHERE seq = 1",
                   "entry 0 was inserted"},
        TamperCase{"HeadMovedBack",
                   "UPDATE head SET seq = 4, mac = (SELECT mac FROM entries "
                   "WHERE seq = 4)",
                   "head (saying the last entry is 4) fails"},
        TamperCase{"HeadMacEdited", "UPDATE head SET head_mac = zeroblob(32)",
                   "head (saying the last entry is 5) fails"},
        TamperCase{"HeadRemoved", "DELETE FROM head", "head"},
        TamperCase{"EntriesDropped", "DROP TABLE entries", "entries cannot"},
        TamperCase{"RemoveLastAndMoveHead",
                   "DELETE FROM entries WHERE seq = 5;"
                   "UPDATE head SET seq = 4, mac = (SELECT mac FROM entries "
                   "WHERE seq = 4)",
                   "head (saying the last entry is 4) fails"}),
    [](const ::testing::TestParamInfo<TamperCase>& info) {
      return std::string(info.param.name);
    });

TEST_F(AuditLogTest, AppendAfterRemovedTailKeepsTheGapVisible) {
  WriteFive();
  Tamper(dir_.path(), "DELETE FROM entries WHERE seq = 5");
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT(log->Append("task", "Received query q-6"), IsOk());
  EXPECT_EQ(log->Entries()->back().seq, 6u);
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("entry 5 was removed")));
}

TEST_F(AuditLogTest, AppendRefusesWhenTheHeadWasModified) {
  WriteFive();
  Tamper(dir_.path(), "UPDATE head SET seq = 3");
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(
      log->Append("task", "Received query q-6"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("nothing was appended")));
  EXPECT_EQ(log->Entries()->size(), 5u);
}

TEST_F(AuditLogTest, AppendRefusesWhenTheNextEntryWasForged) {
  WriteFive();
  Tamper(dir_.path(),
         "INSERT INTO entries SELECT 6, unix_time, kind, summary, fields, mac "
         "FROM entries WHERE seq = 5");
  auto log = Open();
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(
      log->Append("task", "Received query q-6"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 6 exists")));
}

TEST_F(AuditLogTest, EditedKeyCheckIsRefused) {
  WriteFive();
  Tamper(dir_.path(),
         "UPDATE meta SET value = zeroblob(32) "
         "WHERE key = 'key_check'");
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace kring::node
