#include "coordinator/run.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/scripted_schools.h"

namespace kring::coordinator {
namespace {

using ::kring::coordinator::testing::RunningQuery;
using ::kring::coordinator::testing::ScriptedSchools;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

constexpr int64_t kWindow = 20000;
constexpr int64_t kRound = 30000;

class RunDriverTest : public ::testing::Test {
 protected:
  std::unique_ptr<RunDriver> NewRun(ScriptedSchools& schools,
                                    RunOptions options = {}) {
    options.decision_window_millis = kWindow;
    options.round_deadline_millis = kRound;
    auto run = RunDriver::Create(RunningQuery(), schools.schools(),
                                 instruments_, options, Now());
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *std::move(run) : nullptr;
  }
  int64_t Now() const { return clock_.NowUnixMillis(); }
  // Every school in `accepting` accepts; messages are delivered.
  void Accept(RunDriver& run, ScriptedSchools& schools,
              const std::vector<int>& accepting) {
    for (int i : accepting) {
      schools.Deliver(
          run,
          run.OnMessage(schools.id(i),
                        ScriptedSchools::Decision("q-test", true), Now()),
          Now());
    }
  }

  const survey::InstrumentRegistry instruments_ =
      survey::InstrumentRegistry::Builtin();
  kring::testing::FakeClock clock_;
};

TEST_F(RunDriverTest, DispatchSendsATaskToEveryTargetAfterItsAuditEntry) {
  ScriptedSchools schools(4);
  auto run = NewRun(schools);
  RunStep step = run->Start(Now());
  EXPECT_THAT(step.audit,
              ElementsAre(Pair("dispatched", HasSubstr("sent to 4 schools"))));
  ASSERT_THAT(step.send, SizeIs(4));
  for (const Outgoing& o : step.send) {
    EXPECT_TRUE(o.message.has_task());
    EXPECT_EQ(o.message.task().query_id(), "q-test");
    EXPECT_EQ(o.message.task().respond_by_unix_millis(), Now() + kWindow);
  }
  EXPECT_FALSE(run->done());
}

TEST_F(RunDriverTest, AllAcceptAndTheRunFinishesWithTheExactSum) {
  ScriptedSchools schools(4);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0, 1, 2, 3});
  ASSERT_TRUE(run->done());
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_THAT(sum.contributors, ElementsAre("S1", "S2", "S3", "S4"));
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
  EXPECT_EQ(sum.sum.size(), run->layout().size());
  ASSERT_EQ(run->info().decisions_size(), 4);
  for (const auto& d : run->info().decisions()) EXPECT_TRUE(d.accepted());
  EXPECT_THAT(schools.audit(),
              ElementsAre(Pair("dispatched", HasSubstr("q-test")),
                          Pair("aggregation", HasSubstr("4 schools"))));
}

// Every task says what the schools calibrate their noise to (they draw it
// when they accept); a run after a few declines keeps to it by raising its
// threshold.
TEST_F(RunDriverTest, TheTaskStatesTheNoiseCalibrationAndTheRunKeepsToIt) {
  ScriptedSchools schools(7);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  const v1::Task& task = schools.received("S1").front().task();
  EXPECT_EQ(task.noise().min_shares(), 4u);  // the threshold for 7 schools
  EXPECT_EQ(task.noise().max_shares(), 7u);
  for (const char* id : {"S6", "S7"}) {
    schools.Deliver(
        *run,
        run->OnMessage(id, ScriptedSchools::Decision("q-test", false, "no"),
                       Now()),
        Now());
  }
  Accept(*run, schools, {0, 1, 2, 3, 4});
  ASSERT_TRUE(run->done());
  const v1::SecAggConfig& config =
      schools.received("S1")[1].run_start().config();
  EXPECT_EQ(config.roster_size(), 5);
  EXPECT_EQ(config.threshold(), 4u);  // 3 for five schools, raised
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.noise->min_shares(), 4u);
  EXPECT_EQ(sum.noise->max_shares(), 7u);
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
}

// Fewer schools accepted than the noise was calibrated for: those that did
// are asked again with the noise calibrated for their number (and draw it
// again when they accept); the schools that declined are not asked again.
TEST_F(RunDriverTest, TooFewForTheCalibrationAreAskedAgainWithANewOne) {
  ScriptedSchools schools(7);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  for (const char* id : {"S4", "S5", "S6", "S7"}) {
    schools.Deliver(
        *run,
        run->OnMessage(id, ScriptedSchools::Decision("q-test", false, "no"),
                       Now()),
        Now());
  }
  Accept(*run, schools, {0, 1, 2});
  EXPECT_FALSE(run->done());
  EXPECT_THAT(schools.audit().back(),
              Pair("recalibrated",
                   HasSubstr("only 3 schools accepted, fewer than the 4")));
  for (const char* id : {"S1", "S2", "S3"}) {
    ASSERT_TRUE(schools.received(id).back().has_task()) << id;
    EXPECT_EQ(schools.received(id).back().task().noise().min_shares(), 2u);
    EXPECT_EQ(schools.received(id).back().task().noise().max_shares(), 3u);
  }
  EXPECT_EQ(schools.received("S4").size(), 1u);
  // A late answer of a school not asked again changes nothing.
  run->OnMessage("S4", ScriptedSchools::Decision("q-test", true), Now());
  Accept(*run, schools, {0, 1, 2});
  ASSERT_TRUE(run->done());
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_THAT(sum.contributors, ElementsAre("S1", "S2", "S3"));
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.noise->min_shares(), 2u);
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
  ASSERT_EQ(run->info().decisions_size(), 7);
  EXPECT_FALSE(run->info().decisions(3).accepted());
  EXPECT_EQ(run->info().decisions(3).reason(), "no");
}

TEST_F(RunDriverTest, DecisionWindowClosesOnlyOnATickAtItsDeadline) {
  ScriptedSchools schools(4);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0, 1, 2});  // S4 never answers
  EXPECT_TRUE(run->OnTick(Now()).send.empty());
  clock_.AdvanceMillis(kWindow - 1);
  EXPECT_TRUE(run->OnTick(Now()).send.empty());
  EXPECT_FALSE(schools.received("S1").back().has_run_start());
  clock_.AdvanceMillis(1);
  schools.Deliver(*run, run->OnTick(Now()), Now());
  ASSERT_TRUE(run->done());
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_THAT(sum.contributors, ElementsAre("S1", "S2", "S3"));
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
  EXPECT_THAT(run->info().decisions(3).reason(), HasSubstr("did not answer"));
  EXPECT_TRUE(schools.received("S4").size() == 1);  // its task only
}

TEST_F(RunDriverTest, ADroppedOutSchoolIsLeftOutWhenTheRoundDeadlineFires) {
  ScriptedSchools schools(5);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  // S5 accepts and advertises its keys, then goes silent.
  Accept(*run, schools, {4});
  schools.Silence("S5");
  Accept(*run, schools, {0, 1, 2, 3});
  EXPECT_FALSE(run->done());
  clock_.AdvanceMillis(kRound - 1);
  schools.Deliver(*run, run->OnTick(Now()), Now());
  EXPECT_FALSE(run->done()) << "a round must not close before its deadline";
  clock_.AdvanceMillis(1);
  schools.Deliver(*run, run->OnTick(Now()), Now());
  // Later rounds have their own deadlines; keep ticking.
  for (int i = 0; i < 5 && !run->done(); ++i) {
    clock_.AdvanceMillis(kRound);
    schools.Deliver(*run, run->OnTick(Now()), Now());
  }
  ASSERT_TRUE(run->done());
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_THAT(sum.contributors, ElementsAre("S1", "S2", "S3", "S4"));
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
}

TEST_F(RunDriverTest, TooFewAcceptingSchoolsFailTheRunWithTheirReasons) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0, 1});
  run->OnMessage("S3",
                 ScriptedSchools::Decision("q-test", false, "policy: no means"),
                 Now());
  ASSERT_TRUE(run->done());
  EXPECT_THAT(run->outcome(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("only 2 of 3 schools took part"),
                             HasSubstr("S3: policy: no means"))));
  EXPECT_THAT(schools.audit(), ElementsAre(Pair("dispatched", ::testing::_)));
}

TEST_F(RunDriverTest, TooManyDropoutsFailWithoutAResult) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0});
  schools.Silence("S1");
  Accept(*run, schools, {1, 2});
  for (int i = 0; i < 6 && !run->done(); ++i) {
    clock_.AdvanceMillis(kRound);
    schools.Deliver(*run, run->OnTick(Now()), Now());
  }
  ASSERT_TRUE(run->done());
  EXPECT_FALSE(run->outcome().ok());
}

TEST_F(RunDriverTest, MessagesFromOutsideTheRunOrForAnotherQueryAreDropped) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  EXPECT_TRUE(
      run->OnMessage("S9", ScriptedSchools::Decision("q-test", true), Now())
          .send.empty());
  EXPECT_TRUE(
      run->OnMessage("S1", ScriptedSchools::Decision("q-other", true), Now())
          .send.empty());
  Accept(*run, schools, {1, 2});
  EXPECT_FALSE(run->done()) << "S1 has not decided yet";
  EXPECT_EQ(run->OnConnected("S1").size(), 1u) << "its open task again";
  EXPECT_TRUE(run->OnConnected("S2").empty()) << "already decided";
  EXPECT_TRUE(run->OnConnected("S9").empty());
}

TEST_F(RunDriverTest, ASchoolCannotPassOnANeighboursMessage) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  schools.Silence("S1");
  Accept(*run, schools, {0, 1, 2});  // S2 and S3 advertise; S1 is silent
  const auto start = run->OnConnected("S1");
  ASSERT_THAT(start, SizeIs(1));
  ASSERT_TRUE(start[0].has_run_start());
  // S1's genuine, signed advertisement, handed in by S3: dropped.
  KRING_ASSERT_OK_AND_ASSIGN(const v1::SecAggMessage advert,
                             schools.Join("S1", start[0].run_start().config()));
  v1::NodeToCoordinator m;
  *m.mutable_secagg() = advert;
  EXPECT_TRUE(run->OnMessage("S3", m, Now()).send.empty());
  // The same message from S1 itself completes round 0.
  EXPECT_THAT(run->OnMessage("S1", m, Now()).send, SizeIs(3));
}

TEST_F(RunDriverTest, AReconnectingSchoolGetsTheCurrentRoundAgain) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  schools.Silence("S3");
  Accept(*run, schools, {0, 1, 2});
  const auto again = run->OnConnected("S3");
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_TRUE(again[0].has_run_start());
}

TEST_F(RunDriverTest, AbortEndsTheRunWithItsReason) {
  ScriptedSchools schools(3);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  run->Abort(absl::InternalError("the audit log cannot be written"));
  ASSERT_TRUE(run->done());
  EXPECT_THAT(run->outcome(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(run->OnTick(Now() + kWindow).send.empty());
  run->Abort(absl::CancelledError("later"));
  EXPECT_THAT(run->outcome(), StatusIs(absl::StatusCode::kInternal));
}

// Leaves the share from roster index `from` out of `school`'s IncomingShares.
std::function<void(const std::string&, v1::CoordinatorToNode&)> LeaveOutShare(
    const std::string& school, uint32_t from) {
  return [school, from](const std::string& to, v1::CoordinatorToNode& m) {
    if (to != school || !m.has_secagg() || !m.secagg().has_incoming_shares()) {
      return;
    }
    auto* shares =
        m.mutable_secagg()->mutable_incoming_shares()->mutable_shares();
    for (int i = 0; i < shares->size(); ++i) {
      if (shares->Get(i).sender() == from) {
        shares->DeleteSubrange(i, 1);
        return;
      }
    }
  };
}

TEST_F(RunDriverTest, AShareLeftOutFailsTheRunWhenTheSchoolReportsItsAbort) {
  ScriptedSchools schools(4);
  schools.tamper = LeaveOutShare("S1", 1);  // S2's share never reaches S1
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0, 1, 2, 3});
  ASSERT_TRUE(run->done()) << "the abort ends the run without a deadline";
  EXPECT_THAT(run->outcome(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("S1"),
                             HasSubstr("aborted after its masked input"),
                             HasSubstr("never reached this node"))));
}

TEST_F(RunDriverTest, AShareLeftOutFailsTheRunEvenIfTheAbortIsLost) {
  ScriptedSchools schools(4);
  schools.tamper = LeaveOutShare("S1", 1);
  schools.report_aborts = false;
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {0, 1, 2, 3});
  for (int i = 0; i < 6 && !run->done(); ++i) {
    clock_.AdvanceMillis(kRound);
    schools.Deliver(*run, run->OnTick(Now()), Now());
  }
  ASSERT_TRUE(run->done());
  EXPECT_THAT(run->outcome(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("S1"),
                             HasSubstr("did not complete the protocol"))));
}

TEST_F(RunDriverTest, AnAbortBeforeMaskingDropsTheSchoolWithoutWaiting) {
  ScriptedSchools schools(4);
  auto run = NewRun(schools);
  schools.Deliver(*run, run->Start(Now()), Now());
  Accept(*run, schools, {3});
  schools.Silence("S4");  // it will abort instead of advertising keys
  Accept(*run, schools, {0, 1, 2});
  ASSERT_FALSE(run->done());
  v1::NodeToCoordinator abort;
  abort.mutable_abort()->set_query_id("q-test");
  abort.mutable_abort()->set_reason("secure aggregation aborted:\x1b[2J why");
  schools.Deliver(*run, run->OnMessage("S4", abort, Now()), Now());
  ASSERT_TRUE(run->done()) << "no deadline needed";
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_THAT(sum.contributors, ElementsAre("S1", "S2", "S3"));
  ASSERT_TRUE(sum.noise.has_value());
  EXPECT_EQ(sum.sum, schools.SumOf(sum.contributors, *sum.noise));
  EXPECT_THAT(schools.audit(),
              ::testing::Contains(
                  Pair("dropped", AllOf(HasSubstr("S4 aborted in round 0"),
                                        HasSubstr("aborted:?[2J why")))));
}

TEST_F(RunDriverTest, NoSchoolsFailsAtOnce) {
  ScriptedSchools schools(0);
  auto run = NewRun(schools);
  RunStep step = run->Start(Now());
  ASSERT_TRUE(run->done());
  EXPECT_THAT(run->outcome(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("only 0 of 0")));
}

TEST_F(RunDriverTest, BenchmarkPlaintextSumsTheVectors) {
  ScriptedSchools schools(3);
  RunOptions options;
  options.benchmark_plaintext = true;
  auto run = NewRun(schools, options);
  run->Start(Now());
  for (int i = 0; i < 3; ++i) {
    run->OnMessage(schools.id(i), ScriptedSchools::Decision("q-test", true),
                   Now());
  }
  std::vector<int64_t> expected(run->layout().size(), 0);
  for (int i = 0; i < 3; ++i) {
    v1::NodeToCoordinator m;
    m.mutable_benchmark_plaintext()->set_query_id("q-test");
    for (size_t j = 0; j < run->layout().size(); ++j) {
      m.mutable_benchmark_plaintext()->add_values(i + j);
      expected[j] += static_cast<int64_t>(i + j);
    }
    run->OnMessage(schools.id(i), m, Now());
  }
  ASSERT_TRUE(run->done());
  KRING_ASSERT_OK_AND_ASSIGN(const RunSum sum, run->outcome());
  EXPECT_EQ(sum.sum, expected);
}

TEST_F(RunDriverTest, ASpecThatDoesNotParseIsRefused) {
  v1::QueryInfo info = RunningQuery();
  info.mutable_ticket()->mutable_spec()->clear_measures();
  EXPECT_THAT(RunDriver::Create(info, {}, instruments_, {}, Now()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::coordinator
