#ifndef KRING_TESTS_UNIT_COORDINATOR_COORDINATOR_FIXTURE_H_
#define KRING_TESTS_UNIT_COORDINATOR_COORDINATOR_FIXTURE_H_

// A real coordinator database in a temporary directory (or, with
// KRING_TEST_POSTGRES=1 in the environment, as ctest's postgres/ copies of
// these suites set it, in a throwaway PostgreSQL cluster), its audit log
// behind a fault-injection wrapper (test-only, as LevelDB's
// fault_injection_test), a fake clock, and users with keys.

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "api/auth.h"
#include "coordinator/audit.h"
#include "coordinator/db.h"
#include "crypto/identity.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/postgres_cluster.h"

namespace kring::coordinator::testing {

// Passes entries to the real log until told to fail them.
class FaultInjectionAuditLog final : public AuditLog {
 public:
  explicit FaultInjectionAuditLog(AuditLog& real) : real_(real) {}
  absl::Status Append(std::string_view kind,
                      std::string_view summary) override {
    if (fail_all_ || failing_.count(std::string(kind))) {
      return absl::UnavailableError("no space left on device (injected)");
    }
    return real_.Append(kind, summary);
  }
  // Entries of `kind` fail from now on.
  void Fail(const std::string& kind) { failing_.insert(kind); }
  void FailAll() { fail_all_ = true; }

 private:
  AuditLog& real_;
  std::set<std::string> failing_;
  bool fail_all_ = false;
};

class CoordinatorFixture : public ::testing::Test {
 protected:
  CoordinatorFixture() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-coord-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    std::string database;
    if (const char* pg = getenv("KRING_TEST_POSTGRES"); pg && *pg == '1') {
      auto cluster = kring::testing::PostgresCluster::Start();
      EXPECT_TRUE(cluster.ok()) << cluster.status();
      if (cluster.ok()) {
        pg_ = *std::move(cluster);
        auto url = pg_->CreateDatabase("coordinator");
        EXPECT_TRUE(url.ok()) << url.status();
        database = url.value_or("");
      }
    }
    auto db = CoordinatorDb::Open(dir_ / "state", database, true);
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    real_audit_ = DbAuditLog(*db_);
    audit_ = std::make_unique<FaultInjectionAuditLog>(*real_audit_);
  }
  ~CoordinatorFixture() override { std::filesystem::remove_all(dir_); }

  // A user with a fresh key (kept in keys_), stored in the database.
  User AddUser(const std::string& id, v1::Role role,
               std::vector<std::string> municipalities = {}) {
    auto [it, fresh] = keys_.emplace(id, crypto::IdentityKeyPair::Generate());
    User u;
    u.user_id = id;
    u.role = role;
    u.public_key = std::string(it->second.public_key().bytes());
    u.municipalities = std::move(municipalities);
    EXPECT_TRUE(db_->AddUser(u).ok());
    return u;
  }
  // `user`'s approval signature over `q`'s ticket.
  std::string Sign(const std::string& user, const v1::QueryInfo& q) {
    auto sig = keys_.at(user).Sign(api::kApprovalContext, q.ticket_bytes());
    EXPECT_TRUE(sig.ok());
    return sig.ok() ? *sig : "";
  }
  // The kinds of the audit log's entries, in order.
  std::vector<std::string> AuditKinds() {
    std::vector<std::string> kinds;
    auto log = db_->AuditLog();
    EXPECT_TRUE(log.ok());
    if (log.ok()) {
      for (const AuditRecord& r : *log) kinds.push_back(r.kind);
    }
    return kinds;
  }

  std::filesystem::path dir_;
  std::unique_ptr<kring::testing::PostgresCluster> pg_;  // declared first:
  std::unique_ptr<CoordinatorDb> db_;                    // outlives db_
  std::unique_ptr<AuditLog> real_audit_;
  std::unique_ptr<FaultInjectionAuditLog> audit_;
  kring::testing::FakeClock clock_;
  std::map<std::string, crypto::IdentityKeyPair> keys_;
};

}  // namespace kring::coordinator::testing

#endif  // KRING_TESTS_UNIT_COORDINATOR_COORDINATOR_FIXTURE_H_
