#include "coordinator/dispatcher.h"

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "coordinator/governance.h"
#include "coordinator/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/layout.h"
#include "query/spec.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/zero_noise.h"
#include "tests/unit/coordinator/coordinator_fixture.h"
#include "tests/unit/coordinator/scripted_schools.h"

namespace kring::coordinator {
namespace {

using ::kring::coordinator::testing::RunningQuery;
using ::kring::coordinator::testing::ScriptedSchools;
using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kWindow = 20000;

// A node's stream, as a queue the test reads.
class QueueLink final : public NodeLink {
 public:
  bool Send(const v1::CoordinatorToNode& m) override {
    std::lock_guard lock(mu_);
    queue_.push_back(m);
    return true;
  }
  std::deque<v1::CoordinatorToNode> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(queue_, {});
  }
  bool Healthy() const override { return healthy_; }
  // As the transport would after a keepalive timeout.
  void Break() { healthy_ = false; }

 private:
  std::atomic<bool> healthy_ = true;
  std::mutex mu_;
  std::deque<v1::CoordinatorToNode> queue_;
};

class DispatcherTest : public testing::CoordinatorFixture {
 protected:
  DispatcherTest()
      : registry_(*db_, *audit_, clock_, std::chrono::hours(24)),
        governance_(*db_, *audit_, instruments_, {1, false}) {
    researcher_ = AddUser("researcher", v1::ROLE_RESEARCHER);
    approver_ = AddUser("approver", v1::ROLE_APPROVER);
  }

  std::unique_ptr<Dispatcher> NewDispatcher() {
    DispatchOptions o;
    o.decision_window_millis = kWindow;
    o.round_deadline_millis = 30000;
    auto d =
        Dispatcher::Create(*db_, *audit_, registry_, instruments_, clock_, o);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *std::move(d) : nullptr;
  }
  // Schools whose inputs are real contributions: `pupils` records each,
  // both genders, answers 1..4, sent as kring-node sends them (with the
  // noise offsets; zero noise).
  ScriptedSchools Schools(int n, int pupils = 12) {
    ScriptedSchools schools(n);
    auto q = query::Query::Create(RunningQuery().ticket().spec(), instruments_);
    EXPECT_TRUE(q.ok()) << q.status();
    // The layout refers to its query: both live as long as the function.
    auto query = std::make_shared<query::Query>(*std::move(q));
    auto layout = std::make_shared<query::Layout>(*query);
    schools.input_for = [query, layout, pupils](
                            int school, const v1::SecAggConfig&,
                            const v1::NoiseCalibration& cal) {
      std::vector<v1::PupilRecord> records;
      for (int i = 0; i < pupils; ++i) {
        v1::PupilRecord r;
        r.set_wave("2025-26");
        r.set_survey_month(3);
        r.set_sector(v1::SECTOR_VO);
        r.set_track(v1::TRACK_HAVO);
        r.set_grade(2);
        r.set_gender(i % 2 ? v1::GENDER_JONGEN : v1::GENDER_MEISJE);
        r.set_age_band(v1::AGE_BAND_12_13);
        for (int k = 0; k < 17; ++k) r.add_responses(1 + (i + school) % 4);
        records.push_back(r);
      }
      auto c = query::Contribution(*layout, records, "GM0363");
      EXPECT_TRUE(c.ok()) << c.status();
      auto plan = query::NoisePlan::Create(*layout, query->rho(),
                                           cal.min_shares(), cal.max_shares());
      EXPECT_TRUE(plan.ok()) << plan.status();
      if (!c.ok() || !plan.ok()) return std::vector<uint64_t>();
      auto input =
          query::NoisyInput(*plan, *c, kring::testing::ZeroNoiseSource());
      EXPECT_TRUE(input.ok()) << input.status();
      return input.ok() ? *input : std::vector<uint64_t>();
    };
    return schools;
  }
  // Enrolls the schools through the registry and connects them.
  void EnrollAndConnect(ScriptedSchools& schools, Dispatcher& d) {
    for (size_t i = 0; i < schools.schools().size(); ++i) {
      School s;
      s.brin = "B" + std::to_string(i);
      s.name = "School " + std::to_string(i);
      s.municipality = "GM0363";
      auto code = registry_.NewEnrollmentCode(s);
      ASSERT_TRUE(code.ok()) << code.status();
      v1::EnrollRequest r;
      r.set_code(code->code());
      r.set_identity_public_key(
          std::string(schools.key(i).public_key().bytes()));
      auto e = registry_.Enroll(r);
      ASSERT_TRUE(e.ok()) << e.status();
      schools.Rename(i, e->school_id());
      links_[e->school_id()] = std::make_shared<QueueLink>();
      ASSERT_THAT(d.Connected(e->school_id(), links_[e->school_id()]), IsOk());
    }
  }
  // A submitted and approved (RUNNING) query.
  v1::QueryInfo Approved() {
    auto q = governance_.Submit(researcher_, RunningQuery().ticket().spec(),
                                clock_.NowUnixMillis());
    EXPECT_TRUE(q.ok()) << q.status();
    auto a = governance_.Approve(approver_, q->ticket().query_id(),
                                 Sign("approver", *q));
    EXPECT_TRUE(a.ok()) << a.status();
    return *a;
  }
  // Delivers queued messages until all are quiet; schools accept tasks.
  void Pump(Dispatcher& d, ScriptedSchools& schools) {
    for (bool any = true; any;) {
      any = false;
      for (auto& [id, link] : links_) {
        for (const v1::CoordinatorToNode& m : link->Take()) {
          any = true;
          received_[id].push_back(m);
          if (m.has_task()) {
            schools.Answer({id, m});  // notes the noise calibration
            d.FromNode(id,
                       ScriptedSchools::Decision(m.task().query_id(), true));
          } else if (auto answer = schools.Answer({id, m})) {
            d.FromNode(id, *answer);
          }
        }
      }
    }
  }
  v1::QueryInfo Stored(const v1::QueryInfo& q) {
    auto s = db_->GetQuery(q.ticket().query_id());
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : v1::QueryInfo();
  }
  // Whether every school was told the run ended, and how.
  void ExpectEndEverywhere(bool success) {
    for (const auto& [id, messages] : received_) {
      ASSERT_FALSE(messages.empty()) << id;
      ASSERT_TRUE(messages.back().has_run_end()) << id;
      EXPECT_EQ(messages.back().run_end().success(), success) << id;
    }
  }

  const survey::InstrumentRegistry instruments_ =
      survey::InstrumentRegistry::Builtin();
  Registry registry_;
  Governance governance_;
  User researcher_, approver_;
  std::map<std::string, std::shared_ptr<QueueLink>> links_;
  std::map<std::string, std::vector<v1::CoordinatorToNode>> received_;
};

TEST_F(DispatcherTest, ARunIsReleasedAfterItsAuditEntry) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  d->Start(q);
  Pump(*d, schools);
  const v1::QueryInfo done = Stored(q);
  EXPECT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  EXPECT_EQ(done.decisions_size(), 3);
  EXPECT_THAT(governance_.Result(researcher_, q.ticket().query_id(),
                                 v1::RESULT_FORMAT_JSON),
              IsOk());
  EXPECT_THAT(
      AuditKinds(),
      ElementsAre("enrollment-code", "enrolled", "enrollment-code", "enrolled",
                  "enrollment-code", "enrolled", "submitted", "approved",
                  "dispatched", "aggregation", "released"));
  ExpectEndEverywhere(true);
}

TEST_F(DispatcherTest, NothingIsReleasedWithoutItsAuditEntry) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  audit_->Fail("released");
  d->Start(q);
  Pump(*d, schools);
  const v1::QueryInfo done = Stored(q);
  EXPECT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done.reason(), HasSubstr("audit log cannot be written"));
  EXPECT_THAT(governance_.Result(researcher_, q.ticket().query_id(),
                                 v1::RESULT_FORMAT_JSON),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(AuditKinds(), Not(Contains("released")));
  EXPECT_EQ(AuditKinds().back(), "failed");
  ExpectEndEverywhere(false);
}

TEST_F(DispatcherTest, ADispatchWhoseAuditEntryFailsAsksNoSchool) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  audit_->Fail("dispatched");
  d->Start(q);
  Pump(*d, schools);
  for (const auto& [id, messages] : received_) {
    for (const auto& m : messages) EXPECT_FALSE(m.has_task()) << id;
  }
  const v1::QueryInfo done = Stored(q);
  EXPECT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done.reason(), HasSubstr("`dispatched` step was not done"));
}

TEST_F(DispatcherTest, AFailureWhoseAuditEntryFailsSaysSoInItsReason) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  audit_->FailAll();
  d->Start(q);
  const v1::QueryInfo done = Stored(q);
  EXPECT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done.reason(), HasSubstr("not in the audit log either"));
}

TEST_F(DispatcherTest, TheDecisionDeadlineFiresOnATickOfTheClock) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  d->Start(q);  // nobody answers
  const uint64_t ends = d->ends();
  d->Tick();
  clock_.AdvanceMillis(kWindow - 1);
  d->Tick();
  EXPECT_EQ(Stored(q).state(), v1::QUERY_STATE_RUNNING);
  clock_.AdvanceMillis(1);
  d->Tick();
  EXPECT_EQ(d->ends(), ends + 1);
  const v1::QueryInfo done = Stored(q);
  EXPECT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done.reason(), HasSubstr("only 0 of 3 schools took part"));
  // Each exclusion is an event of its school.
  for (size_t i = 0; i < 3; ++i) {
    const auto events = d->Events(schools.id(i));
    ASSERT_FALSE(events.empty());
    EXPECT_THAT(events.back().what(), AllOf(HasSubstr(q.ticket().query_id()),
                                            HasSubstr("did not answer in time"),
                                            HasSubstr("its link was up")));
  }
}

TEST_F(DispatcherTest, ASecondLinkIsRefusedWhileTheFirstIsHealthy) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const std::string id = schools.id(0);
  auto second = std::make_shared<QueueLink>();
  EXPECT_THAT(d->Connected(id, second),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already connected")));
  // The refused link going away leaves the first one in place.
  d->Disconnected(id, second.get());
  EXPECT_TRUE(d->IsConnected(id));
  ASSERT_FALSE(d->Events(id).empty());
  EXPECT_THAT(d->Events(id).back().what(), HasSubstr("refused a second"));
  // The first link still gets the school's tasks.
  d->Start(Approved());
  EXPECT_FALSE(links_[id]->Take().empty());
  EXPECT_TRUE(second->Take().empty());
}

TEST_F(DispatcherTest, AnUnhealthyLinkIsReplacedAndTheEvictionNoted) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const std::string id = schools.id(0);
  links_[id]->Break();
  auto second = std::make_shared<QueueLink>();
  ASSERT_THAT(d->Connected(id, second), IsOk());
  EXPECT_THAT(d->Events(id).back().what(), HasSubstr("replaced a link"));
  // The old stream ending later does not disconnect the new one.
  d->Disconnected(id, links_[id].get());
  EXPECT_TRUE(d->IsConnected(id));
  d->Disconnected(id, second.get());
  EXPECT_FALSE(d->IsConnected(id));
  EXPECT_EQ(d->Events(id).back().what(), "disconnected");
}

TEST_F(DispatcherTest, ASchoolConnectingDuringTheWindowGetsItsTask) {
  auto d = NewDispatcher();
  ScriptedSchools schools = Schools(3);
  EnrollAndConnect(schools, *d);
  const v1::QueryInfo q = Approved();
  const std::string late = schools.id(2);
  d->Disconnected(late, links_[late].get());
  EXPECT_FALSE(d->IsConnected(late));
  d->Start(q);
  EXPECT_TRUE(links_[late]->Take().empty());
  ASSERT_THAT(d->Connected(late, links_[late]), IsOk());
  Pump(*d, schools);
  EXPECT_EQ(Stored(q).state(), v1::QUERY_STATE_RELEASED);
  EXPECT_TRUE(received_[late].front().has_task());
}

TEST_F(DispatcherTest, ARestartFailsInterruptedRunsOnlyWithTheirAuditEntry) {
  const v1::QueryInfo q = Approved();  // RUNNING, no dispatcher
  audit_->Fail("failed");
  DispatchOptions o;
  EXPECT_THAT(
      Dispatcher::Create(*db_, *audit_, registry_, instruments_, clock_, o),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("audit log")));
  EXPECT_EQ(Stored(q).state(), v1::QUERY_STATE_RUNNING);
  audit_ = std::make_unique<testing::FaultInjectionAuditLog>(*real_audit_);
  auto d =
      Dispatcher::Create(*db_, *audit_, registry_, instruments_, clock_, o);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(Stored(q).reason(), HasSubstr("restarted"));
  auto link = std::make_shared<QueueLink>();
  ASSERT_THAT((*d)->Connected("any-school", link), IsOk());
  const auto sent = link->Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].run_end().query_id(), q.ticket().query_id());
  EXPECT_FALSE(sent[0].run_end().success());
}

}  // namespace
}  // namespace kring::coordinator
