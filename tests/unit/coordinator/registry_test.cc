#include "coordinator/registry.h"

#include <string>

#include "api/auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_fixture.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class RegistryTest : public testing::CoordinatorFixture {
 protected:
  RegistryTest() : registry_(*db_, *audit_, clock_, std::chrono::hours(24)) {
    admin_ = AddUser("admin", v1::ROLE_ADMIN);
    researcher_ = AddUser("researcher", v1::ROLE_RESEARCHER);
  }
  static School Amsterdam() {
    School s;
    s.brin = "00AA";
    s.name = "Het Lyceum";
    s.municipality = "GM0363";
    return s;
  }
  User NewUser(const std::string& id, v1::Role role) {
    User u;
    u.user_id = id;
    u.role = role;
    u.public_key =
        std::string(crypto::IdentityKeyPair::Generate().public_key().bytes());
    return u;
  }

  Registry registry_;
  User admin_, researcher_;
};

TEST_F(RegistryTest, OnlyAdminsRegisterUsersEnrollSchoolsAndListNodes) {
  EXPECT_THAT(
      registry_.RegisterUser(researcher_, NewUser("x", v1::ROLE_RESEARCHER)),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("researcher (researcher) may not register")));
  v1::CreateEnrollmentCodeRequest r;
  EXPECT_THAT(registry_.CreateEnrollmentCode(researcher_, r),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(registry_.Nodes(researcher_, [](v1::NodeInfo&) {}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(AuditKinds(), IsEmpty());
}

TEST_F(RegistryTest, RegisteredUsersAreAuditedAndDuplicatesRefused) {
  EXPECT_THAT(registry_.RegisterUser(admin_, NewUser("ann", v1::ROLE_APPROVER)),
              IsOk());
  EXPECT_THAT(registry_.RegisterUser(admin_, NewUser("ann", v1::ROLE_APPROVER)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(
      registry_.RegisterUser(admin_, NewUser("gm", v1::ROLE_MUNICIPALITY)),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("municipality codes")));
  EXPECT_THAT(AuditKinds(), ElementsAre("user"));
}

TEST_F(RegistryTest, AnEnrollmentCodeEnrollsOnceBeforeItExpires) {
  KRING_ASSERT_OK_AND_ASSIGN(const auto code,
                             registry_.NewEnrollmentCode(Amsterdam()));
  EXPECT_EQ(code.expires_unix_millis(),
            clock_.NowUnixMillis() + 24 * 3600 * 1000);
  v1::EnrollRequest r;
  r.set_code(code.code());
  r.set_identity_public_key(
      std::string(crypto::IdentityKeyPair::Generate().public_key().bytes()));
  KRING_ASSERT_OK_AND_ASSIGN(const auto enrolled, registry_.Enroll(r));
  EXPECT_THAT(enrolled.school_id(), HasSubstr("00AA-"));
  EXPECT_EQ(enrolled.municipality(), "GM0363");
  EXPECT_THAT(registry_.Enroll(r), StatusIs(absl::StatusCode::kNotFound));
  KRING_ASSERT_OK_AND_ASSIGN(const auto late,
                             registry_.NewEnrollmentCode(Amsterdam()));
  clock_.Advance(24 * 3600 + 1);
  r.set_code(late.code());
  EXPECT_THAT(registry_.Enroll(r), StatusIs(absl::StatusCode::kNotFound));
  School bad = Amsterdam();
  bad.municipality = "Amsterdam";
  EXPECT_THAT(registry_.NewEnrollmentCode(bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, NothingIsRegisteredWhenItsAuditEntryCannotBeWritten) {
  KRING_ASSERT_OK_AND_ASSIGN(const auto code,
                             registry_.NewEnrollmentCode(Amsterdam()));
  audit_->FailAll();
  EXPECT_THAT(registry_.RegisterUser(admin_, NewUser("ann", v1::ROLE_APPROVER)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("`user`")));
  EXPECT_THAT(db_->GetUser("ann"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_.NewEnrollmentCode(Amsterdam()),
              StatusIs(absl::StatusCode::kInternal));
  v1::EnrollRequest r;
  r.set_code(code.code());
  r.set_identity_public_key(
      std::string(crypto::IdentityKeyPair::Generate().public_key().bytes()));
  EXPECT_THAT(registry_.Enroll(r), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(*db_->ListSchools(), IsEmpty());
  EXPECT_THAT(AuditKinds(), ElementsAre("enrollment-code"));
}

TEST_F(RegistryTest, SignedRequestsAreAcceptedOnceAndOnlyWhenFresh) {
  v1::ListQueriesRequest request;
  ASSERT_THAT(api::SignRequest("ListQueries", "researcher",
                               keys_.at("researcher"), request),
              IsOk());
  // The fake clock stands at 2026-01-01; the request was signed now.
  clock_.Set(request.auth().unix_millis() / 1000);
  KRING_ASSERT_OK_AND_ASSIGN(
      const User u,
      registry_.Authenticate("ListQueries", request, request.auth()));
  EXPECT_EQ(u.user_id, "researcher");
  EXPECT_THAT(registry_.Authenticate("ListQueries", request, request.auth()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  v1::ListQueriesRequest other;
  ASSERT_THAT(api::SignRequest("ListQueries", "researcher",
                               keys_.at("researcher"), other),
              IsOk());
  EXPECT_THAT(registry_.Authenticate("GetQuery", other, other.auth()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  clock_.Advance(3600);  // the request is now an hour old
  EXPECT_THAT(registry_.Authenticate("ListQueries", other, other.auth()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(RegistryTest, SchoolsInSelectsTheMunicipalities) {
  for (const char* m : {"GM0363", "GM0599"}) {
    School s = Amsterdam();
    s.municipality = m;
    s.school_id = std::string("S-") + m;
    ASSERT_THAT(db_->PutSchool(s), IsOk());
  }
  google::protobuf::RepeatedPtrField<std::string> only;
  *only.Add() = "GM0599";
  KRING_ASSERT_OK_AND_ASSIGN(const auto some, registry_.SchoolsIn(only));
  ASSERT_EQ(some.size(), 1u);
  EXPECT_EQ(some[0].school_id, "S-GM0599");
  EXPECT_EQ(registry_.SchoolsIn({})->size(), 2u);
}

}  // namespace
}  // namespace kring::coordinator
