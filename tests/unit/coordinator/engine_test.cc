#include "coordinator/engine.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "api/auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/scripted_schools.h"

namespace kring::coordinator {
namespace {

using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

// The assembled engine: its scheduler thread ticks the runs on the
// injected clock, so a deadline passes when the fake clock says so.
TEST(EngineTest, TheSchedulerFailsARunWhenTheFakeClockPassesItsWindow) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-engine-XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  kring::testing::FakeClock clock;
  auto db = CoordinatorDb::Open(dir / "state", true);
  ASSERT_TRUE(db.ok()) << db.status();
  EngineOptions o;
  o.clock = &clock;
  o.tick = std::chrono::milliseconds(5);
  o.decision_window = std::chrono::hours(1);
  auto engine = Engine::Create(*std::move(db), o);
  ASSERT_TRUE(engine.ok()) << engine.status();
  Engine& e = **engine;

  const User admin{"(operator)", v1::ROLE_ADMIN, {}, {}};
  auto approver_key = crypto::IdentityKeyPair::Generate();
  const User researcher{
      "r",
      v1::ROLE_RESEARCHER,
      std::string(crypto::IdentityKeyPair::Generate().public_key().bytes()),
      {}};
  const User approver{"a",
                      v1::ROLE_APPROVER,
                      std::string(approver_key.public_key().bytes()),
                      {}};
  ASSERT_TRUE(e.RegisterUser(admin, researcher).ok());
  ASSERT_TRUE(e.RegisterUser(admin, approver).ok());
  // One enrolled school, which never answers.
  School school;
  school.brin = "00AA";
  school.name = "Het Lyceum";
  school.municipality = "GM0363";
  auto code = e.NewEnrollmentCode(school);
  ASSERT_TRUE(code.ok()) << code.status();
  v1::EnrollRequest enroll;
  enroll.set_code(code->code());
  enroll.set_identity_public_key(
      std::string(crypto::IdentityKeyPair::Generate().public_key().bytes()));
  ASSERT_TRUE(e.Enroll(enroll).ok());
  auto q = e.Submit(researcher, testing::RunningQuery().ticket().spec());
  ASSERT_TRUE(q.ok()) << q.status();
  const std::string id = q->ticket().query_id();
  auto running =
      e.Approve(approver, id,
                *approver_key.Sign(api::kApprovalContext, q->ticket_bytes()));
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->state(), v1::QUERY_STATE_RUNNING);

  // Real time passes, the fake clock does not: the window stays open.
  EXPECT_THAT(e.WaitForQuery(id, std::chrono::milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  clock.Advance(3600);
  auto done = e.WaitForQuery(id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done->reason(), HasSubstr("only 0 of 1 schools"));
  engine->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kring::coordinator
