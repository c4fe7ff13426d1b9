#include "storage/database.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/storage/temp_dir.h"

namespace kring::storage {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::IsOkAndHolds;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenOptions options;
    options.label = "test database";
    options.create = true;
    options.setup_sql =
        "PRAGMA journal_mode = WAL;"
        "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v BLOB);";
    auto db = Database::Open(path(), options);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
  }
  std::filesystem::path path() const { return dir_.path() / "t.db"; }

  absl::StatusOr<int64_t> Count() {
    auto st = db_->Prepare("SELECT count(*) FROM t");
    if (!st.ok()) return st.status();
    if (auto row = st->Step(); !row.ok()) return row.status();
    return st->Int(0);
  }

  absl::Status Insert(std::string_view k, std::string_view v) {
    auto st = db_->Prepare("INSERT INTO t(k, v) VALUES(?, ?)");
    if (!st.ok()) return st.status();
    return st->BindText(1, k).Bind(2, v).Run();
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseTest, BindsStepsAndReadsColumns) {
  ASSERT_THAT(Insert("a", std::string("x\0y", 3)), IsOk());
  EXPECT_EQ(db_->Changes(), 1);
  auto st = db_->Prepare("SELECT k, v, length(v), NULL FROM t");
  ASSERT_THAT(st, IsOk());
  EXPECT_THAT(st->Step(), IsOkAndHolds(true));
  EXPECT_EQ(st->Text(0), "a");
  EXPECT_EQ(st->Blob(1), std::string_view("x\0y", 3));
  EXPECT_EQ(st->Int(2), 3);
  EXPECT_EQ(st->Blob(3), "");
  EXPECT_EQ(st->Blob(99), "");  // no such column: empty, no exception
  EXPECT_THAT(st->Step(), IsOkAndHolds(false));
}

TEST_F(DatabaseTest, ConstraintViolationIsAlreadyExists) {
  ASSERT_THAT(Insert("a", "1"), IsOk());
  EXPECT_THAT(
      Insert("a", "2"),
      StatusIs(absl::StatusCode::kAlreadyExists,
               AllOf(HasSubstr("test database"), HasSubstr(path().string()),
                     HasSubstr("UNIQUE constraint failed"))));
}

TEST_F(DatabaseTest, ErrorsAreStatusesNamingTheFile) {
  EXPECT_THAT(db_->Prepare("SELECT * FROM nope"),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr(path().string()),
                             HasSubstr("no such table: nope"))));
  EXPECT_THAT(db_->Exec("NOT SQL"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("syntax")));
  auto st = db_->Prepare("SELECT ?");
  ASSERT_THAT(st, IsOk());
  st->Bind(5, int64_t{1});  // out of range: kept for the next Step
  EXPECT_THAT(st->Step(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("bind a value")));
  st->Reset();
  EXPECT_THAT(st->Bind(1, int64_t{7}).Step(), IsOkAndHolds(true));
  EXPECT_EQ(st->Int(0), 7);
}

TEST_F(DatabaseTest, MissingFileWithoutCreateFails) {
  OpenOptions options;
  options.label = "test database";
  const auto missing = dir_.path() / "missing.db";
  EXPECT_THAT(Database::Open(missing, options),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr(missing.string()),
                             HasSubstr("check that the file"))));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(DatabaseTest, NotADatabaseIsDataLoss) {
  const auto junk = dir_.path() / "junk.db";
  {
    std::FILE* f = std::fopen(junk.c_str(), "w");
    std::fputs(std::string(4096, 'j').c_str(), f);
    std::fclose(f);
  }
  OpenOptions options;
  options.setup_sql = "PRAGMA journal_mode = WAL;";
  EXPECT_THAT(Database::Open(junk, options),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("backup")));
}

TEST_F(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  {
    auto tx = Transaction::Begin(*db_, Transaction::Mode::kImmediate);
    ASSERT_THAT(tx, IsOk());
    ASSERT_THAT(Insert("a", "1"), IsOk());
  }
  EXPECT_THAT(Count(), IsOkAndHolds(0));
  {
    auto tx = Transaction::Begin(*db_, Transaction::Mode::kDeferred);
    ASSERT_THAT(tx, IsOk());
    ASSERT_THAT(Insert("a", "1"), IsOk());
    ASSERT_THAT(tx->Commit(), IsOk());
    EXPECT_THAT(tx->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_THAT(Count(), IsOkAndHolds(1));
}

// A COMMIT that fails (here: a deferred foreign key still violated) rolls
// the transaction back, so nothing of it is kept and the connection can
// begin again.
TEST_F(DatabaseTest, FailedCommitRollsBack) {
  ASSERT_THAT(db_->Exec("PRAGMA foreign_keys = ON;"
                        "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                        "CREATE TABLE c(p INTEGER REFERENCES p(id) "
                        "  DEFERRABLE INITIALLY DEFERRED);"),
              IsOk());
  {
    auto tx = Transaction::Begin(*db_, Transaction::Mode::kImmediate);
    ASSERT_THAT(tx, IsOk());
    ASSERT_THAT(Insert("a", "1"), IsOk());
    ASSERT_THAT(db_->Exec("INSERT INTO c(p) VALUES(42);"), IsOk());
    EXPECT_THAT(tx->Commit(), StatusIs(absl::StatusCode::kAlreadyExists,
                                       HasSubstr("FOREIGN KEY")));
  }
  EXPECT_THAT(Count(), IsOkAndHolds(0));
  auto again = Transaction::Begin(*db_, Transaction::Mode::kImmediate);
  EXPECT_THAT(again, IsOk());
}

// Another connection holding the write lock: UNAVAILABLE after the busy
// timeout, with advice, and no exception.
TEST_F(DatabaseTest, LockedDatabaseIsUnavailable) {
  OpenOptions options;
  options.label = "second";
  options.busy_timeout_ms = 10;
  auto other = Database::Open(path(), options);
  ASSERT_THAT(other, IsOk());
  auto tx = Transaction::Begin(**other, Transaction::Mode::kImmediate);
  ASSERT_THAT(tx, IsOk());
  ASSERT_THAT(db_->Exec("PRAGMA busy_timeout = 10;"), IsOk());
  EXPECT_THAT(Transaction::Begin(*db_, Transaction::Mode::kImmediate),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("try again")));
}

}  // namespace
}  // namespace kring::storage
