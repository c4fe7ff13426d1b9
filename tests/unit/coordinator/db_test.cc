// The coordinator's store on both back-ends (label postgres): every
// CoordinatorDb operation, reopening, the audit chain, versioned
// migrations, and the failover lock. PostgreSQL runs as a throwaway
// cluster (tests/testing/postgres_cluster.h); without its binaries these
// tests fail, naming the package.

#include "coordinator/db.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "coordinator/db_lease.h"
#include "coordinator/db_migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::IsOkAndHolds;
using ::kring::testing::PostgresCluster;
using ::kring::testing::StatusIs;
using ::kring::testing::WaitUntil;
using ::testing::HasSubstr;
using ::testing::Not;

enum class Backend { kSqlite, kPostgres };

void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "postgres");
}

std::string Name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class CoordinatorDbTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-db-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == Backend::kPostgres) {
      auto pg = PostgresCluster::Start();
      ASSERT_TRUE(pg.ok()) << pg.status();
      pg_ = *std::move(pg);
      KRING_ASSERT_OK_AND_ASSIGN(database_, pg_->CreateDatabase("coord"));
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<CoordinatorDb>> Open(bool create) {
    return CoordinatorDb::Open(dir_ / "state", database_, create);
  }
  // A second, raw connection to the same store (for tampering and
  // inspecting).
  std::unique_ptr<storage::Database> Raw() {
    auto db = GetParam() == Backend::kSqlite
                  ? storage::Database::Open(dir_ / "state" / "coordinator.db",
                                            storage::OpenOptions{})
                  : storage::Database::OpenPostgres(database_,
                                                    storage::OpenOptions{});
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  std::filesystem::path dir_;
  std::unique_ptr<PostgresCluster> pg_;
  std::string database_;  // empty: SQLite
};

v1::QueryInfo Query(const std::string& id, v1::QueryState state) {
  v1::QueryInfo q;
  q.mutable_ticket()->set_query_id(id);
  q.set_state(state);
  return q;
}

TEST_P(CoordinatorDbTest, EverythingStoredIsThereAfterReopening) {
  {
    KRING_ASSERT_OK_AND_ASSIGN(auto db, Open(/*create=*/true));
    School s{"", "00AA", "De Linde", "GM0363", "", "", 0};
    KRING_ASSERT_OK(db->AddEnrollmentCode("code-1", s, /*expires=*/1000));
    KRING_ASSERT_OK(db->PutSchool({"sch-1", "00AA", "De Linde", "GM0363",
                                   std::string(32, '\x01'), "0.1", 5}));
    KRING_ASSERT_OK(db->AddUser({"alice",
                                 v1::ROLE_RESEARCHER,
                                 std::string(32, '\0'),
                                 {"GM0363", "GM0599"}}));
    KRING_ASSERT_OK(db->PutQuery(Query("q1", v1::QUERY_STATE_RELEASED)));
    KRING_ASSERT_OK(db->PutQuery(Query("q2", v1::QUERY_STATE_FAILED)));
    KRING_ASSERT_OK(db->PutResult("q1", "table", "{\"a\":1}", "a\n1\n"));
    KRING_ASSERT_OK(db->Grant("q1", "alice"));
    KRING_ASSERT_OK(db->AppendLedger("{\"q\":\"q1\"}"));
    KRING_ASSERT_OK(db->Audit("release", "q1 released"));
  }
  KRING_ASSERT_OK_AND_ASSIGN(auto db, Open(/*create=*/false));
  KRING_ASSERT_OK_AND_ASSIGN(School school, db->GetSchool("sch-1"));
  EXPECT_EQ(school.identity_key, std::string(32, '\x01'));
  EXPECT_EQ(school.last_seen_millis, 5);
  KRING_ASSERT_OK_AND_ASSIGN(User alice, db->GetUser("alice"));
  EXPECT_EQ(alice.role, v1::ROLE_RESEARCHER);
  EXPECT_EQ(alice.public_key, std::string(32, '\0'));
  EXPECT_THAT(alice.municipalities, ::testing::ElementsAre("GM0363", "GM0599"));
  KRING_ASSERT_OK_AND_ASSIGN(auto queries, db->ListQueries());
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].ticket().query_id(), "q1");
  EXPECT_EQ(queries[1].state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(db->GetResult("q1", v1::RESULT_FORMAT_CSV),
              IsOkAndHolds(std::string("a\n1\n")));
  EXPECT_THAT(db->GetResult("q1", v1::RESULT_FORMAT_TABLE),
              IsOkAndHolds(std::string("table")));
  EXPECT_THAT(db->IsGranted("q1", "alice"), IsOkAndHolds(true));
  EXPECT_THAT(db->IsGranted("q2", "alice"), IsOkAndHolds(false));
  EXPECT_THAT(db->LoadLedger(),
              IsOkAndHolds(::testing::ElementsAre("{\"q\":\"q1\"}")));
  // The code is redeemed once, before it expires.
  EXPECT_THAT(db->RedeemEnrollmentCode("code-1", 2000),
              StatusIs(absl::StatusCode::kNotFound));
  KRING_ASSERT_OK_AND_ASSIGN(School redeemed,
                             db->RedeemEnrollmentCode("code-1", 10));
  EXPECT_EQ(redeemed.name, "De Linde");
  EXPECT_THAT(db->RedeemEnrollmentCode("code-1", 10),
              StatusIs(absl::StatusCode::kNotFound));
  KRING_ASSERT_OK_AND_ASSIGN(auto log, db->AuditLog());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].summary, "q1 released");
}

TEST_P(CoordinatorDbTest, UpdatesReplaceAndTakenIdsAreRefused) {
  KRING_ASSERT_OK_AND_ASSIGN(auto db, Open(/*create=*/true));
  KRING_ASSERT_OK(db->AddUser({"bob", v1::ROLE_ADMIN, "k", {}}));
  EXPECT_THAT(db->AddUser({"bob", v1::ROLE_ADMIN, "k", {}}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  KRING_ASSERT_OK(db->PutSchool({"s", "1", "old", "GM1", "k", "0.1", 1}));
  KRING_ASSERT_OK(db->PutSchool({"s", "1", "new", "GM1", "k", "0.2", 2}));
  KRING_ASSERT_OK(db->TouchSchool("s", "0.3", 9));
  KRING_ASSERT_OK_AND_ASSIGN(auto schools, db->ListSchools());
  ASSERT_EQ(schools.size(), 1u);
  EXPECT_EQ(schools[0].name, "new");
  EXPECT_EQ(schools[0].version, "0.3");
  EXPECT_EQ(schools[0].last_seen_millis, 9);
  KRING_ASSERT_OK(db->PutQuery(Query("a", v1::QUERY_STATE_AWAITING_APPROVAL)));
  KRING_ASSERT_OK(db->PutQuery(Query("b", v1::QUERY_STATE_AWAITING_APPROVAL)));
  KRING_ASSERT_OK(db->PutQuery(Query("a", v1::QUERY_STATE_RELEASED)));
  KRING_ASSERT_OK_AND_ASSIGN(auto queries, db->ListQueries());
  ASSERT_EQ(queries.size(), 2u);  // updated in place, order kept
  EXPECT_EQ(queries[0].ticket().query_id(), "a");
  EXPECT_EQ(queries[0].state(), v1::QUERY_STATE_RELEASED);
  KRING_ASSERT_OK(db->PutResult("a", "t1", "j1", "c1"));
  KRING_ASSERT_OK(db->PutResult("a", "t2", "j2", "c2"));
  EXPECT_THAT(db->GetResult("a", v1::RESULT_FORMAT_JSON),
              IsOkAndHolds(std::string("j2")));
  KRING_ASSERT_OK(db->Grant("a", "bob"));
  KRING_EXPECT_OK(db->Grant("a", "bob"));
  EXPECT_THAT(db->GetQuery("nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(CoordinatorDbTest, CreateAndOpenCheckWhetherACoordinatorIsThere) {
  EXPECT_THAT(Open(/*create=*/false),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("init")));
  KRING_ASSERT_OK(Open(/*create=*/true).status());
  EXPECT_THAT(Open(/*create=*/true),
              StatusIs(absl::StatusCode::kAlreadyExists));
  KRING_EXPECT_OK(Open(/*create=*/false).status());
}

TEST_P(CoordinatorDbTest, AuditChainVerifiesAndDetectsAnEdit) {
  KRING_ASSERT_OK_AND_ASSIGN(auto db, Open(/*create=*/true));
  for (int i = 0; i < 5; ++i) {
    KRING_ASSERT_OK(db->Audit("kind", "entry " + std::to_string(i)));
  }
  KRING_EXPECT_OK(db->VerifyAudit());
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  KRING_ASSERT_OK(
      raw->Exec("UPDATE audit SET summary = 'nothing' WHERE seq = 2"));
  EXPECT_THAT(db->VerifyAudit(), StatusIs(absl::StatusCode::kDataLoss,
                                          HasSubstr("altered at entry 2")));
}

TEST_P(CoordinatorDbTest, NewStoreIsAtTheLatestSchemaVersion) {
  KRING_ASSERT_OK(Open(/*create=*/true).status());
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  EXPECT_THAT(SchemaVersion(*raw),
              IsOkAndHolds(CoordinatorMigrations().back().version));
}

TEST_P(CoordinatorDbTest, MigrationStepsApplyOnceAndAFailingOneChangesNothing) {
  KRING_ASSERT_OK(Open(/*create=*/true).status());
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  std::vector<Migration> steps(CoordinatorMigrations().begin(),
                               CoordinatorMigrations().end());
  const int base = steps.back().version;
  // Step base+1 creates a table and a row; base+2 fails half-way.
  steps.push_back(
      {base + 1, "CREATE TABLE extra(x INTEGER); INSERT INTO extra VALUES(1);",
       "CREATE TABLE extra(x INTEGER); INSERT INTO extra VALUES(1);"});
  steps.push_back({base + 2, "CREATE TABLE more(y INTEGER); SELECT nonsense(;",
                   "CREATE TABLE more(y INTEGER); SELECT nonsense(;"});
  EXPECT_THAT(Migrate(*raw, steps), Not(::kring::testing::IsOk()));
  EXPECT_THAT(SchemaVersion(*raw), IsOkAndHolds(base));
  // Nothing of the upgrade is kept: not even step base+1.
  EXPECT_THAT(raw->Prepare("SELECT x FROM extra").status().ok() &&
                  raw->Prepare("SELECT x FROM extra")->Step().ok(),
              false);
  steps.pop_back();
  KRING_ASSERT_OK(Migrate(*raw, steps));
  KRING_ASSERT_OK(Migrate(*raw, steps));  // nothing left to apply
  EXPECT_THAT(SchemaVersion(*raw), IsOkAndHolds(base + 1));
  KRING_ASSERT_OK_AND_ASSIGN(auto count,
                             raw->Prepare("SELECT COUNT(*) FROM extra"));
  ASSERT_THAT(count.Step(), IsOkAndHolds(true));
  EXPECT_EQ(count.Int(0), 1);
}

TEST_P(CoordinatorDbTest, StoreFromANewerCoordinatorIsRefused) {
  KRING_ASSERT_OK(Open(/*create=*/true).status());
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  KRING_ASSERT_OK(raw->Exec(
      "INSERT INTO schema_version(version, applied_millis) VALUES(99, 0)"));
  EXPECT_THAT(Open(/*create=*/false),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer kring-coordinator")));
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordinatorDbTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         Name);

// A coordinator.db written by kring-coordinator before schema_version
// existed (its exact tables, an audit entry, a user) opens as version 1
// with everything in it.
TEST(CoordinatorDbMigrationTest, PreMigrationSqliteDatabaseUpgrades) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-db-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  {
    // A current coordinator, then schema_version removed: the old layout.
    KRING_ASSERT_OK_AND_ASSIGN(auto db, CoordinatorDb::Open(dir, true));
    KRING_ASSERT_OK(db->AddUser({"carol", v1::ROLE_APPROVER, "k", {}}));
    KRING_ASSERT_OK(db->Audit("init", "coordinator created"));
  }
  {
    storage::OpenOptions options;
    KRING_ASSERT_OK_AND_ASSIGN(
        auto raw, storage::Database::Open(dir / "coordinator.db", options));
    KRING_ASSERT_OK(raw->Exec("DROP TABLE schema_version"));
    EXPECT_THAT(SchemaVersion(*raw), IsOkAndHolds(1));
  }
  KRING_ASSERT_OK_AND_ASSIGN(auto db, CoordinatorDb::Open(dir, false));
  KRING_EXPECT_OK(db->GetUser("carol").status());
  KRING_EXPECT_OK(db->VerifyAudit());
  KRING_ASSERT_OK_AND_ASSIGN(
      auto raw,
      storage::Database::Open(dir / "coordinator.db", storage::OpenOptions{}));
  KRING_ASSERT_OK_AND_ASSIGN(
      auto st, raw->Prepare("SELECT version FROM schema_version"));
  ASSERT_THAT(st.Step(), IsOkAndHolds(true));
  EXPECT_EQ(st.Int(0), 1);
  std::filesystem::remove_all(dir);
}

TEST(ConnectionStringTest, PasswordNeverAppearsInMessages) {
  EXPECT_EQ(storage::RedactConnectionString(
                "postgresql://kring:s3cret@db.example:5432/kring"),
            "postgresql://kring:***@db.example:5432/kring");
  EXPECT_EQ(storage::RedactConnectionString(
                "postgresql://db.example/kring?user=k&password=s3cret&x=1"),
            "postgresql://db.example/kring?user=k&password=***&x=1");
  EXPECT_EQ(storage::RedactConnectionString("postgresql://h/db"),
            "postgresql://h/db");
  // A server that is not there: the error names the URL without it.
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-db-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto db = CoordinatorDb::Open(
      tmpl, "postgresql://kring:s3cret@127.0.0.1:1/kring", false);
  EXPECT_THAT(db, StatusIs(absl::StatusCode::kUnavailable,
                           HasSubstr("kring:***@127.0.0.1:1")));
  EXPECT_THAT(std::string(db.status().message()), Not(HasSubstr("s3cret")));
  std::filesystem::remove_all(tmpl);
}

// Without PostgreSQL's server binaries the postgres tests fail (never
// skip), saying which Debian package to install.
TEST(PostgresClusterTest, MissingBinariesFailNamingThePackage) {
  ::setenv("KRING_TEST_POSTGRES_BIN", "/nonexistent/postgresql/bin", 1);
  auto pg = PostgresCluster::Start();
  ::unsetenv("KRING_TEST_POSTGRES_BIN");
  EXPECT_THAT(pg, StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("install the Debian package "
                                     "postgresql-15")));
}

// One coordinator is active at a time: a second waits as the standby and
// takes over when the first's lock frees.
TEST(ActiveLeaseTest, StandbyTakesOverWhenTheActiveLetsGo) {
  auto pg = PostgresCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  KRING_ASSERT_OK_AND_ASSIGN(const std::string url,
                             (*pg)->CreateDatabase("lease"));
  KRING_ASSERT_OK_AND_ASSIGN(
      auto first,
      ActiveLease::Acquire(url, std::chrono::milliseconds(50), nullptr));
  KRING_EXPECT_OK(first->Check());
  std::atomic<bool> standby{false};
  std::unique_ptr<ActiveLease> second;
  std::thread waiter([&] {
    auto lease = ActiveLease::Acquire(url, std::chrono::milliseconds(50),
                                      [&] { standby = true; });
    EXPECT_TRUE(lease.ok()) << lease.status();
    if (lease.ok()) second = *std::move(lease);
  });
  ASSERT_TRUE(
      WaitUntil([&] { return standby.load(); }, std::chrono::seconds(30)));
  first.reset();  // the active one's session ends
  waiter.join();
  ASSERT_NE(second, nullptr);
  KRING_EXPECT_OK(second->Check());
  // Its session killed from outside: it knows it lost the lock.
  KRING_ASSERT_OK_AND_ASSIGN(
      auto admin, storage::Database::OpenPostgres(url, storage::OpenOptions{}));
  KRING_ASSERT_OK(admin->Exec(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
      "'advisory' AND granted"));
  EXPECT_THAT(second->Check(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("lost")));
}

}  // namespace
}  // namespace kring::coordinator
