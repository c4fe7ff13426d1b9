// The node session as a pure state machine: messages and a time in,
// replies and audit entries out, no network.

#include "node/session.h"

#include <map>

#include "api/auth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "survey/instrument.h"

namespace kring::node {
namespace {

using ::testing::HasSubstr;

struct Entry {
  std::string kind, summary;
};

class MemoryAudit final : public AuditSink {
 public:
  absl::Status Append(std::string_view kind, std::string_view summary,
                      AuditFields) override {
    entries.push_back({std::string(kind), std::string(summary)});
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Contains(std::string_view, std::string_view,
                                std::string_view) override {
    return false;
  }
  std::vector<Entry> entries;
};

class NoRecords final : public SchoolRecords {
 public:
  absl::Status ForEach(
      const std::function<void(const v1::PupilRecord&)>& f) override {
    for (const v1::PupilRecord& r : records) f(r);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Contributed(std::string_view) override { return false; }
  absl::Status SpendPrivacy(const PrivacySpend& spend, double) override {
    spent.push_back(spend);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<PrivacySpend>> PrivacySpent() override {
    return spent;
  }
  std::vector<PrivacySpend> spent;
  std::vector<v1::PupilRecord> records;  // none unless a test adds some
};

class MemoryPending final : public PendingQueue {
 public:
  absl::Status Put(const PendingTask& t) override {
    put.push_back(t.query_id);
    return absl::OkStatus();
  }
  std::optional<ItDecision> TakeDecision(const std::string& id) override {
    auto it = decisions.find(id);
    if (it == decisions.end()) return std::nullopt;
    ItDecision d = it->second;
    decisions.erase(it);
    return d;
  }
  void Remove(const std::string&) override {}
  std::vector<std::string> put;
  std::map<std::string, ItDecision> decisions;
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    options_.config.school_id = "B-2";
    options_.config.insecure_loopback = true;
    options_.config.approvers.push_back(approver_.public_key());
  }
  Session Make() {
    return Session(options_, &identity_, &audit_, &records_, &pending_);
  }
  v1::CoordinatorToNode Task(int64_t respond_by = 0, uint32_t min_shares = 2,
                             uint32_t max_shares = 3) {
    v1::QueryTicket t;
    t.set_query_id("q-1");
    t.set_requester_id("r");
    t.set_requester_role(v1::ROLE_RESEARCHER);
    t.mutable_spec()->set_statistic("mean");
    t.mutable_spec()->add_measures("belong_perception");
    v1::CoordinatorToNode m;
    v1::Task* task = m.mutable_task();
    task->set_query_id("q-1");
    task->set_respond_by_unix_millis(respond_by);
    task->set_ticket_bytes(api::CanonicalBytes(t));
    task->mutable_noise()->set_min_shares(min_shares);
    task->mutable_noise()->set_max_shares(max_shares);
    v1::Approval* a = task->add_approvals();
    a->set_approver_public_key(std::string(approver_.public_key().bytes()));
    a->set_signature(
        *approver_.Sign(api::kApprovalContext, task->ticket_bytes()));
    return m;
  }
  static v1::CoordinatorToNode PlaintextStart() {
    v1::CoordinatorToNode m;
    m.mutable_run_start()->set_query_id("q-1");
    m.mutable_run_start()->set_benchmark_plaintext(true);
    return m;
  }

  crypto::IdentityKeyPair approver_ = crypto::IdentityKeyPair::Generate();
  crypto::IdentityKeyPair identity_ = crypto::IdentityKeyPair::Generate();
  SessionOptions options_;
  MemoryAudit audit_;
  NoRecords records_;
  MemoryPending pending_;
  const SessionTime now_{1'000'000, std::chrono::steady_clock::time_point()};
};

TEST_F(SessionTest, AcceptsATaskAndExpiredOnesGetNoAnswer) {
  Session session = Make();
  auto replies = session.Handle(Task(), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].decision().accept()) << replies[0].decision().reason();
  EXPECT_TRUE(session.Handle(Task(now_.unix_millis - 1), now_).empty());
  EXPECT_THAT(audit_.entries.back().summary, HasSubstr("expired"));
}

// A school whose records follow only another instrument declines a query
// over kring-belonging-v1 and says why; one whose records follow the
// PISA-coded variant takes part.
TEST_F(SessionTest, QueryOverAnInstrumentTheSchoolLacksIsDeclined) {
  auto own = survey::Instrument::Parse(R"(
id: school-own-v1
version: 1
title: {nl: "Eigen", en: "Own"}
response_scales:
  - id: yesno
    options:
      - {code: 1, nl: "nee", en: "no"}
      - {code: 2, nl: "ja", en: "yes"}
items:
  - {id: OWN1, nl: "Vraag", en: "Question", scale: yesno,
     component: perceptions}
scales: []
)");
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE(options_.instruments.Add(*std::move(own)).ok());
  v1::PupilRecord r;
  r.set_wave("2025-26");
  r.set_instrument_id("school-own-v1");
  r.add_responses(2);
  records_.records.push_back(r);
  {
    Session session = Make();
    auto replies = session.Handle(Task(), now_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_FALSE(replies[0].decision().accept());
    EXPECT_THAT(replies[0].decision().reason(),
                HasSubstr("this school has no records of instrument "
                          "`kring-belonging-v1`: its records follow "
                          "school-own-v1"));
    EXPECT_THAT(replies[0].decision().reason(), HasSubstr("no item ST034Q01"));
  }
  records_.records[0].set_instrument_id("kring-belonging-v1-pisa");
  records_.records[0].clear_responses();
  for (int i = 0; i < 17; ++i) records_.records[0].add_responses(1);
  Session session = Make();
  auto replies = session.Handle(Task(), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].decision().accept()) << replies[0].decision().reason();
}

TEST_F(SessionTest, ManualAcceptWaitsForSchoolIt) {
  options_.config.policy.manual_accept = true;
  Session session = Make();
  EXPECT_TRUE(session.Handle(Task(), now_).empty());
  EXPECT_EQ(pending_.put, std::vector<std::string>{"q-1"});
  EXPECT_TRUE(session.PollDecisions(now_).empty());
  pending_.decisions["q-1"] = {false, "not this term"};
  auto replies = session.PollDecisions(now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].decision().accept());
  EXPECT_EQ(replies[0].decision().reason(),
            "declined by school IT: not this term");
}

// Without a noise calibration the school cannot draw its noise before the
// run: it declines and says what to do.
TEST_F(SessionTest, ATaskWithoutNoiseCalibrationIsDeclined) {
  Session session = Make();
  auto replies = session.Handle(Task(0, 0, 0), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].decision().accept());
  EXPECT_THAT(replies[0].decision().reason(),
              HasSubstr("does not say how many schools the noise is "
                        "calibrated for"));
  replies = session.Handle(Task(0, 4, 3), now_);  // min above max
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].decision().accept());
}

// Fewer schools accepted than the noise was calibrated for: the coordinator
// asks again with a new calibration. School IT's acceptance stands (it is
// the same approved query) and the school accepts at once.
TEST_F(SessionTest, ARecalibratedTaskIsAcceptedAgainWithoutSchoolIt) {
  options_.config.policy.manual_accept = true;
  Session session = Make();
  EXPECT_TRUE(session.Handle(Task(0, 4, 7), now_).empty());
  pending_.decisions["q-1"] = {true, ""};
  ASSERT_EQ(session.PollDecisions(now_).size(), 1u);
  session.Prepare();
  auto replies = session.Handle(Task(0, 2, 3), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].decision().accept());
  EXPECT_EQ(pending_.put, std::vector<std::string>{"q-1"});  // asked once
  EXPECT_THAT(audit_.entries.back().summary,
              HasSubstr("Accepted query q-1 again: fewer schools took part, "
                        "and the coordinator calibrated the noise for 2 to 3 "
                        "schools"));
  // The same task once more: the same answer, nothing new in the log.
  const size_t logged = audit_.entries.size();
  replies = session.Handle(Task(0, 2, 3), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].decision().accept());
  EXPECT_EQ(audit_.entries.size(), logged);
}

TEST_F(SessionTest, ARunThatCannotStartIsReportedWithoutDetails) {
  Session session = Make();
  ASSERT_EQ(session.Handle(Task(), now_).size(), 1u);
  v1::CoordinatorToNode start;
  start.mutable_run_start()->set_query_id("q-1");
  start.mutable_run_start()->mutable_config()->set_query_id("q-other");
  auto replies = session.Handle(start, now_);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0].has_abort());
  EXPECT_EQ(replies[0].abort().query_id(), "q-1");
  EXPECT_THAT(replies[0].abort().reason(), HasSubstr("audit log says why"));
  EXPECT_EQ(audit_.entries.back().kind, "aborted");
  EXPECT_THAT(audit_.entries.back().summary, HasSubstr("names another query"));
}

TEST_F(SessionTest, PlaintextRunsOnlyWithASender) {
  Session refusing = Make();
  ASSERT_EQ(refusing.Handle(Task(), now_).size(), 1u);
  EXPECT_TRUE(refusing.Handle(PlaintextStart(), now_).empty());
  EXPECT_EQ(audit_.entries.back().kind, "aborted");
  EXPECT_THAT(audit_.entries.back().summary,
              HasSubstr("plaintext runs exist only in benchmarks"));
  options_.plaintext_sender = [](const std::string& id,
                                 const std::vector<uint64_t>& values) {
    v1::NodeToCoordinator m;
    m.mutable_benchmark_plaintext()->set_query_id(id);
    for (uint64_t v : values) m.mutable_benchmark_plaintext()->add_values(v);
    return m;
  };
  Session sending = Make();
  ASSERT_EQ(sending.Handle(Task(), now_).size(), 1u);
  auto replies = sending.Handle(PlaintextStart(), now_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].benchmark_plaintext().query_id(), "q-1");
  EXPECT_GT(replies[0].benchmark_plaintext().values_size(), 0);
}

}  // namespace
}  // namespace kring::node
