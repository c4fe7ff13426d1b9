// The whole flow with real processes on loopback: a coordinator, school
// nodes with their own encrypted data, a researcher, an approver.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "api/chunks.h"
#include "crypto/secagg/parameters.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/release.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/integration/cluster.h"

namespace kring::testing {

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSpec = R"({
  "statistic": "mean",
  "measures": ["belong_perception", "belong_opportunities"],
  "groupBy": ["track"],
  "population": {"waves": ["2025-26"]},
  "purpose": "integration test"
})";

const std::map<std::string, std::string> kMunicipality = {
    {"S1", "GM0363"}, {"S2", "GM0363"}, {"S3", "GM0599"},
    {"S4", "GM0599"}, {"S5", "GM0344"}, {"S6", "GM0344"}};

// The release computed directly on the union of the given schools' data,
// with the privacy statement of a run of these schools (the nodes of these
// tests add zero noise: kring-node-faulty --zero-noise).
query::ReleasedResult PooledRelease(Cluster& c, const std::string& spec_json,
                                    const std::vector<std::string>& schools,
                                    uint32_t roster = 0) {
  auto spec = query::ParseQuerySpecJson(spec_json);
  auto q = query::Query::Create(*spec, survey::Instrument::BelongingV1());
  query::Layout layout(*q);
  const auto n = static_cast<uint32_t>(schools.size());
  if (roster == 0) roster = n;
  auto params =
      crypto::secagg::ChooseParameters(roster, crypto::secagg::SecurityGoals());
  EXPECT_TRUE(params.ok()) << params.status();
  auto plan =
      query::NoisePlan::Create(layout, q->rho(), params->threshold, roster);
  EXPECT_TRUE(plan.ok()) << plan.status();
  // The nodes' contributions (with the plan's school cap), summed without
  // noise and decoded as the coordinator decodes noisy sums.
  std::vector<int64_t> sum(layout.size(), 0);
  auto records = c.Records();
  for (const std::string& s : schools) {
    auto v = query::Contribution(layout, records[s], kMunicipality.at(s),
                                 plan->school_cap());
    EXPECT_TRUE(v.ok());
    for (size_t i = 0; i < sum.size(); ++i) {
      sum[i] += static_cast<int64_t>((*v)[i]);
    }
  }
  auto decoded = query::DecodeNoisy(layout, *plan, sum, n);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  query::AddNoiseToResult(layout, *plan, n, *decoded);
  auto released = query::ApplyDisclosure(layout, *decoded,
                                         query::DisclosurePolicy::Default());
  EXPECT_TRUE(released.ok()) << released.status();
  released->privacy =
      query::StatementFor(*plan, n, released->thresholds.min_schools);
  return *std::move(released);
}

// The same as JSON, as the coordinator renders it.
std::string Pooled(Cluster& c, const std::string& spec_json,
                   const std::vector<std::string>& schools,
                   uint32_t roster = 0) {
  return PooledRelease(c, spec_json, schools, roster).ToJson().dump(2);
}

std::string ResultJson(Cluster& c, const TestUser& u, const std::string& id) {
  v1::GetResultRequest req;
  req.set_query_id(id);
  req.set_format(v1::RESULT_FORMAT_JSON);
  v1::GetResultResponse resp;
  grpc::Status s =
      c.Call(u, "GetResult", req, &resp, &v1::Coordinator::Stub::GetResult);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.body();
}

class FlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.Init();
    researcher_ = c_.AddUser("researcher", "researcher");
    approver_ = c_.AddUser("approver", "approver");
    admin_ = c_.AddUser("admin", "admin");
  }
  // A coordinator and `n` enrolled schools S1..Sn, running (and connected)
  // if `start`.
  void Schools(int n, bool start = true) {
    c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);
    std::vector<std::string> names;
    for (int i = 1; i <= n; ++i) {
      const std::string name = "S" + std::to_string(i);
      c_.AddSchool(name, kMunicipality.at(name), 100 + i, 150, approver_);
      names.push_back(name);
    }
    if (start) Start(names);
  }
  // Starts these schools' nodes and waits until they, and the `hooked`
  // ones the test started itself (with fault hooks), are connected.
  void Start(const std::vector<std::string>& names,
             const std::vector<std::string>& hooked = {}) {
    for (const std::string& name : names) c_.StartNode(name);
    std::vector<std::string> all = names;
    all.insert(all.end(), hooked.begin(), hooked.end());
    c_.WaitConnected(admin_, all);
  }
  Cluster c_;
  TestUser researcher_, approver_, admin_;
};

TEST_F(FlowTest, FullQueryEqualsPooledComputation) {
  Schools(5);
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->state(), v1::QUERY_STATE_AWAITING_APPROVAL);
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 5u);
  EXPECT_EQ(ResultJson(c_, researcher_, q->ticket().query_id()),
            Pooled(c_, kSpec, {"S1", "S2", "S3", "S4", "S5"}));
  // Results go to the requester only.
  v1::GetResultRequest req;
  req.set_query_id(q->ticket().query_id());
  v1::GetResultResponse resp;
  EXPECT_EQ(c_.Call(approver_, "GetResult", req, &resp,
                    &v1::Coordinator::Stub::GetResult)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The school's audit log says what left it, and verifies.
  auto audit = Audit(c_, "S1");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out, HasSubstr("Sent the masked contribution"));
  EXPECT_THAT(audit.out, HasSubstr("Accepted query"));
}

// A school that asked only the PISA items (no competencies, opportunities
// or motivation columns) takes part: its records count for the perception
// scale and are missing from the others, and the network result equals the
// pooled computation with exact respondent counts.
TEST_F(FlowTest, PartialQuestionnaireSchoolEqualsPooledComputation) {
  c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);
  std::vector<std::string> others;
  for (const char* id : {"KB_COMP01", "KB_COMP02", "KB_COMP03", "KB_COMP04",
                         "KB_OPP01", "KB_OPP02", "KB_OPP03", "KB_OPP04",
                         "KB_MOT01", "KB_MOT02", "KB_MOT03"}) {
    others.push_back(id);
  }
  const std::vector<std::string> names = {"S1", "S2", "S3", "S4"};
  for (int i = 1; i <= 4; ++i) {
    const std::string name = names[i - 1];
    c_.AddSchool(name, kMunicipality.at(name), 100 + i, 150, approver_, "",
                 name == "S4" ? others : std::vector<std::string>{});
  }
  auto records = c_.Records();
  ASSERT_EQ(records["S4"].size(), 150u);
  EXPECT_EQ(records["S4"][0].not_asked_size(), 11);
  EXPECT_EQ(records["S1"][0].not_asked_size(), 0);
  Start(names);
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 4u);
  EXPECT_EQ(ResultJson(c_, researcher_, q->ticket().query_id()),
            Pooled(c_, kSpec, names));

  // The counts behind the figures, counted here record by record.
  auto spec = query::ParseQuerySpecJson(kSpec);
  const survey::Instrument& ins = survey::Instrument::BelongingV1();
  auto query = query::Query::Create(*spec, ins);
  ASSERT_TRUE(query.ok());
  query::Layout layout(*query);
  std::vector<uint64_t> sum(layout.size(), 0);
  uint64_t all = 0, perception = 0, opportunities = 0;
  for (const std::string& s : names) {
    auto v = query::Contribution(layout, records[s], kMunicipality.at(s));
    ASSERT_TRUE(v.ok());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*v)[i];
    for (const v1::PupilRecord& r : records[s]) {
      if (r.wave() != "2025-26") continue;
      std::vector<uint32_t> resp(r.responses().begin(), r.responses().end());
      ++all;
      perception +=
          ins.ScaleScore(*ins.FindScale("belong_perception"), resp).has_value();
      opportunities +=
          ins.ScaleScore(*ins.FindScale("belong_opportunities"), resp)
              .has_value();
    }
  }
  const std::vector<int> total(layout.query().groups().size(), query::kMargin);
  const uint64_t* block = &sum[layout.CellIndex(total) * layout.cell_width()];
  const auto& names_in_cell = layout.element_names();
  auto element = [&](const std::string& name) {
    auto it = std::find(names_in_cell.begin(), names_in_cell.end(), name);
    EXPECT_NE(it, names_in_cell.end()) << name;
    return block[it - names_in_cell.begin()];
  };
  EXPECT_EQ(element("records"), all);
  // A school counts for a cell only if it stands behind every figure of it
  // (query/layout.h): S4 has no respondents for opportunities.
  EXPECT_EQ(element("schools"), 3u);
  EXPECT_EQ(element("belong_perception n"), perception);
  EXPECT_EQ(element("belong_opportunities n"), opportunities);
  // S4's 150 pupils count for perceptions, not for opportunities.
  EXPECT_GT(perception, opportunities + 140);
}

// The real kring-node always adds noise: the release differs from the
// pooled computation and states the privacy it gives and how much noise a
// count carries.
TEST_F(FlowTest, RealNodesAddNoiseAndTheReleaseSaysHowMuch) {
  c_.set_zero_noise(false);
  Schools(5);
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  const nlohmann::json result = nlohmann::json::parse(
      ResultJson(c_, researcher_, q->ticket().query_id()));
  const nlohmann::json pooled =
      PooledRelease(c_, kSpec, {"S1", "S2", "S3", "S4", "S5"}).ToJson();
  ASSERT_TRUE(result.contains("privacy")) << result.dump(2);
  EXPECT_EQ(result["privacy"], pooled["privacy"]);
  EXPECT_LE(result["privacy"]["rho"].get<double>(), query::kDefaultQueryRho);
  EXPECT_GT(result["privacy"]["count_noise_sd"].get<double>(), 1.0);
  // Means to full precision: equal only if every school's noise were 0.
  EXPECT_NE(result["cells"], pooled["cells"]);
}

// A requester's whole path with the `kring` CLI: submit, approve, wait
// until released (exit 0), read the results as a table and as JSON. A
// colleague reads them only once an admin granted it.
TEST_F(FlowTest, KringWaitsForTheReleaseAndShowsTheResults) {
  TestUser colleague = c_.AddUser("colleague", "researcher");
  Schools(5);
  auto kring = [&](const std::string& user, const std::string& args) {
    return Command("env -u KRING_USER -u KRING_KEY -u KRING_CA " +
                   std::string(KRING_BINARY) +
                   " --insecure-loopback --coordinator " + c_.address() +
                   " --user " + user + " --key '" + c_.KeyFile(user) + "' " +
                   args + " </dev/null");
  };
  const std::string spec = (c_.dir() / "spec.json").string();
  std::ofstream(spec) << kSpec;
  CommandResult submit =
      kring("researcher", "query submit --json '" + spec + "'");
  ASSERT_EQ(submit.exit_code, 0) << submit.out;
  const std::string id = nlohmann::json::parse(submit.out)["id"];
  // Not the colleague's query (yet): to them it does not exist.
  CommandResult denied = kring("colleague", "results " + id);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.out, HasSubstr("no query " + id + " that you may see"));

  CommandResult approve = kring("approver", "query approve " + id);
  ASSERT_EQ(approve.exit_code, 0) << approve.out;
  CommandResult wait = kring("researcher", "wait --timeout 120 " + id);
  ASSERT_EQ(wait.exit_code, 0) << wait.out;
  EXPECT_THAT(wait.out, HasSubstr("released"));

  // The table and the JSON are the release of the pooled data.
  const std::vector<std::string> all = {"S1", "S2", "S3", "S4", "S5"};
  const query::ReleasedResult pooled = PooledRelease(c_, kSpec, all);
  CommandResult table = kring("researcher", "results " + id);
  ASSERT_EQ(table.exit_code, 0) << table.out;
  std::string expected_text = pooled.ToText();
  if (expected_text.back() != '\n') expected_text += '\n';
  EXPECT_EQ(table.out, expected_text);
  const std::string out = (c_.dir() / "result.json").string();
  CommandResult json =
      kring("researcher", "results --format json --out '" + out + "' " + id);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  std::ifstream in(out);
  const nlohmann::json result = nlohmann::json::parse(in);
  EXPECT_EQ(result, pooled.ToJson());
  // Every track has its row; counts are rounded; suppressed cells say why.
  const uint64_t base = result["disclosure"]["rounding_base"];
  ASSERT_GT(base, 1u);
  int released = 0;
  for (const auto& cell : result["cells"]) {
    const std::string track = cell["cell"]["track"];
    EXPECT_THAT(table.out, HasSubstr(track));
    if (cell.contains("respondents")) {
      ++released;
      EXPECT_EQ(cell["respondents"].get<uint64_t>() % base, 0u) << track;
      EXPECT_TRUE(cell["figures"].contains("belong_perception")) << track;
    } else {
      EXPECT_FALSE(cell["reason"].get<std::string>().empty()) << track;
    }
  }
  EXPECT_GT(released, 1);

  CommandResult grant =
      kring("admin", "admin grant --query " + id + " --user " + colleague.id);
  ASSERT_EQ(grant.exit_code, 0) << grant.out;
  CommandResult granted = kring("colleague", "results --format json " + id);
  ASSERT_EQ(granted.exit_code, 0) << granted.out;
  EXPECT_EQ(nlohmann::json::parse(granted.out), result);
}

// SIGTERM stops kring-node cleanly at any moment: the handler only wakes a
// watcher thread, which stops the agent from normal code (a handler that
// took the agent's lock hung about one node in 50; issue 12, item 6).
TEST_F(FlowTest, NodeStopsOnSigtermAtAnyMoment) {
  c_.set_zero_noise(false);  // the real kring-node
  Schools(1, /*start=*/false);
  // How many times S1's log says it started connecting (signals are
  // handled from then on).
  auto starts = [&] {
    std::ifstream log(c_.dir() / "S1.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    size_t n = 0;
    for (size_t at = 0;
         (at = text.find("connecting to", at)) != std::string::npos; ++at) {
      ++n;
    }
    return n;
  };
  for (size_t i = 0; i < 40; ++i) {
    c_.StartNode("S1");
    ASSERT_TRUE(
        WaitUntil([&] { return starts() > i; }, std::chrono::seconds(30)));
    // Connected, or as soon as it runs (connecting or greeting).
    if (i % 3 == 0) c_.WaitConnected(admin_, {"S1"});
    EXPECT_EQ(c_.StopNodeWithin("S1", SIGTERM, std::chrono::seconds(20)), 0)
        << "attempt " << i;
  }
}

TEST_F(FlowTest, NodeOfflineAtSubmissionJoinsWhileOpen) {
  Schools(5, /*start=*/false);
  Start({"S1", "S2", "S3", "S4"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  const std::string id = q->ticket().query_id();
  // The others have decided, and the query is still open: it waits for
  // S5 until the decision window closes.
  for (const char* s : {"S1", "S2", "S3", "S4"}) {
    ASSERT_TRUE(WaitForAudit(c_, s, "Accepted query " + id)) << s;
  }
  ASSERT_EQ(c_.Get(researcher_, id).state(), v1::QUERY_STATE_RUNNING);
  c_.StartNode("S5");  // comes online while the query is open
  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 5u);
  EXPECT_THAT(Audit(c_, "S5").out, HasSubstr("Accepted query " + id));
}

// A school is killed (kill -9) mid-run, right after answering a stage:
// after accepting the task or before sharing its keys (its input is left
// out), or after confirming the survivor set or sending its unmasking
// shares (its input must still be in the sum); the released sum is exactly
// that of the contributors. Dying right after sending its masked input,
// before confirming, fails the run cleanly: whether its masks match the
// others' cannot be checked, and no sum is released unless every
// contributor's can (issue 12, item 7). Whatever the stage, the school's
// audit log still verifies, and once it runs again a re-submitted query
// is released with all six schools.
class FlowDropoutTest : public FlowTest,
                        public ::testing::WithParamInterface<std::string> {};

constexpr const char* kCountSpec = R"({"statistic": "count",
    "groupBy": ["gender"], "population": {"waves": ["2025-26"]},
    "purpose": "integration test"})";

TEST_P(FlowDropoutTest, NodeKilledMidRunAndTheSumIsStillExact) {
  const std::string stage = GetParam();
  Schools(6, /*start=*/false);
  c_.StartFaultyNode("S6", {"--sigkill-after", stage});
  Start({"S1", "S2", "S3", "S4", "S5"}, /*hooked=*/{"S6"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  const std::string id = q->ticket().query_id();
  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  // The school really died where the test asked, by SIGKILL.
  ASSERT_TRUE(
      WaitUntil([&] { return c_.NodeExited("S6"); }, std::chrono::seconds(30)));
  std::ifstream log(c_.dir() / "S6.log");
  std::stringstream node_log;
  node_log << log.rdbuf();
  EXPECT_THAT(node_log.str(), HasSubstr("kill -9 of itself after " + stage));
  CommandResult audit = Audit(c_, "S6");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out, HasSubstr("Accepted query " + id));
  const bool contributed = stage == "3" || stage == "4";
  std::vector<std::string> in = {"S1", "S2", "S3", "S4", "S5"};
  if (contributed) in.push_back("S6");
  if (stage == "2") {
    ASSERT_EQ(done.state(), v1::QUERY_STATE_FAILED);
    EXPECT_THAT(done.reason(), HasSubstr("did not complete the protocol"));
  } else {
    ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
    EXPECT_EQ(done.participants(), in.size());
    EXPECT_EQ(ResultJson(c_, researcher_, id),
              Pooled(c_, kSpec, in, /*roster=*/6));
  }
  // Restarted, the school is in the next query. The failed query is
  // submitted again; after a release, another statistic (the release
  // ledger rightly refuses the same one over a set of schools that differs
  // by one).
  c_.StartNode("S6");
  c_.WaitConnected(admin_, {"S1", "S2", "S3", "S4", "S5", "S6"});
  const std::string again = stage == "2" ? kSpec : kCountSpec;
  auto q2 = c_.Submit(researcher_, again);
  ASSERT_TRUE(q2.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q2).ok());
  v1::QueryInfo done2 = c_.WaitDone(researcher_, q2->ticket().query_id());
  ASSERT_EQ(done2.state(), v1::QUERY_STATE_RELEASED) << done2.reason();
  EXPECT_EQ(done2.participants(), 6u);
  EXPECT_EQ(ResultJson(c_, researcher_, q2->ticket().query_id()),
            Pooled(c_, again, {"S1", "S2", "S3", "S4", "S5", "S6"}));
  audit = Audit(c_, "S6");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out,
              HasSubstr("Accepted query " + q2->ticket().query_id()));
}

INSTANTIATE_TEST_SUITE_P(Stages, FlowDropoutTest,
                         ::testing::Values("decision", "0", "1", "2", "3", "4"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param == "decision"
                                      ? "AfterDecision"
                                      : "AfterRound" + i.param;
                         });

// The coordinator is killed (kill -9) mid-run, right after a school
// answered a stage: its decision or a secure-aggregation round. Nothing
// submitted or released is lost: the query released before is still
// there with its result, the one awaiting approval still awaits it. The
// query in flight fails with a clear reason, the schools hear of it when
// they reconnect and their audit logs and the coordinator's verify. The
// restarted coordinator carries on: the waiting query and a re-submitted
// one are released with every school.
class CoordinatorKillTest : public FlowTest,
                            public ::testing::WithParamInterface<std::string> {
};

TEST_P(CoordinatorKillTest, NothingIsLostAndTheRestartedCoordinatorGoesOn) {
  const std::string stage = GetParam();
  Schools(4);
  auto before = c_.Submit(researcher_, kCountSpec);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(c_.Approve(approver_, *before).ok());
  const std::string released_id = before->ticket().query_id();
  ASSERT_EQ(c_.WaitDone(researcher_, released_id).state(),
            v1::QUERY_STATE_RELEASED);
  const std::string released_result = ResultJson(c_, researcher_, released_id);
  // S4, restarted, kills the coordinator right after it answers `stage`
  // of the next run.
  c_.StopNode("S4");
  c_.StartFaultyNode("S4", {"--sigkill-after", stage, "--sigkill-pid",
                            std::to_string(c_.coordinator_pid())});
  c_.WaitConnected(admin_, {"S1", "S2", "S3", "S4"});
  auto waiting = c_.Submit(researcher_, kSpec);
  auto running = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(waiting.ok() && running.ok());
  const std::string running_id = running->ticket().query_id();
  ASSERT_TRUE(c_.Approve(approver_, *running).ok());
  ASSERT_TRUE(WaitUntil([&] { return c_.CoordinatorExited(); },
                        std::chrono::seconds(60)))
      << "S4 did not kill the coordinator after " << stage;
  c_.RestartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);

  // Killed right after S4's unmasking shares, the coordinator may have
  // released the sum first; at any earlier stage it cannot have.
  v1::QueryInfo failed = c_.WaitDone(researcher_, running_id);
  const bool finished = failed.state() == v1::QUERY_STATE_RELEASED;
  if (finished) {
    EXPECT_EQ(stage, "4") << "released without S4's round " << stage;
  } else {
    EXPECT_EQ(failed.state(), v1::QUERY_STATE_FAILED);
    EXPECT_THAT(failed.reason(), HasSubstr("restarted during the run"));
    EXPECT_THAT(failed.reason(), HasSubstr("Submit the query again"));
  }
  EXPECT_EQ(c_.Get(researcher_, released_id).state(), v1::QUERY_STATE_RELEASED);
  EXPECT_EQ(ResultJson(c_, researcher_, released_id), released_result);
  EXPECT_EQ(c_.Get(researcher_, waiting->ticket().query_id()).state(),
            v1::QUERY_STATE_AWAITING_APPROVAL);
  const std::string coord = std::string(KRING_COORDINATOR_BINARY) +
                            " audit --data-dir '" + c_.coordinator_dir() + "'";
  CommandResult verify = Command(coord + " --verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  CommandResult log = Command(coord);
  EXPECT_THAT(log.out, HasSubstr(finished ? "query " + running_id + " released"
                                          : "query " + running_id +
                                                " failed: coordinator "
                                                "restarted"));

  // The schools come back; those that accepted the task (S4 at least)
  // hear that it failed, and every audit log verifies.
  c_.WaitConnected(admin_, {"S1", "S2", "S3", "S4"});
  for (const std::string s : {"S1", "S2", "S3", "S4"}) {
    CommandResult audit = Audit(c_, s);
    EXPECT_EQ(audit.exit_code, 0) << s << ": " << audit.out;
    const bool accepted =
        audit.out.find("Accepted query " + running_id) != std::string::npos;
    EXPECT_TRUE(accepted || s != "S4") << audit.out;
    if (accepted && !finished) {
      EXPECT_TRUE(WaitForAudit(
          c_, s, "Query " + running_id + " failed: the coordinator restarted"))
          << s;
    }
  }
  ASSERT_TRUE(c_.Approve(approver_, *waiting).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, waiting->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 4u);
  auto again = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(c_.Approve(approver_, *again).ok());
  v1::QueryInfo done2 = c_.WaitDone(researcher_, again->ticket().query_id());
  ASSERT_EQ(done2.state(), v1::QUERY_STATE_RELEASED) << done2.reason();
  EXPECT_EQ(done2.participants(), 4u);
  const std::string pooled = Pooled(c_, kSpec, {"S1", "S2", "S3", "S4"});
  EXPECT_EQ(ResultJson(c_, researcher_, waiting->ticket().query_id()), pooled);
  // The same query over the same schools again: answered from the ledger
  // (query/ledger.h, RepeatAnswers), with the same figures.
  nlohmann::json repeat = nlohmann::json::parse(
      ResultJson(c_, researcher_, again->ticket().query_id()));
  EXPECT_EQ(repeat["privacy"]["repeat_of"], waiting->ticket().query_id());
  repeat["privacy"].erase("repeat_of");
  EXPECT_EQ(repeat.dump(2), pooled);
}

INSTANTIATE_TEST_SUITE_P(Stages, CoordinatorKillTest,
                         ::testing::Values("decision", "0", "1", "2", "3", "4"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param == "decision"
                                      ? "AfterDecision"
                                      : "AfterRound" + i.param;
                         });

// A school loses its connection mid-run and reconnects: the coordinator
// sends the round's message again and the school's input is in the sum.
// The connection drops after the school sent its message of the round (the
// coordinator resends the next round's message), or before (the message
// is lost; the school answers the resent request with the same message).
class FlowReconnectTest
    : public FlowTest,
      public ::testing::WithParamInterface<std::tuple<int, bool>> {};

TEST_P(FlowReconnectTest, NodeReconnectsMidRunAndStaysIn) {
  const auto [round, before_send] = GetParam();
  Schools(6, /*start=*/false);
  c_.StartNode("S6", /*crash_after_round=*/-1, round, before_send);
  Start({"S1", "S2", "S3", "S4", "S5"}, /*hooked=*/{"S6"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 6u);
  EXPECT_EQ(ResultJson(c_, researcher_, q->ticket().query_id()),
            Pooled(c_, kSpec, {"S1", "S2", "S3", "S4", "S5", "S6"}));
  // A school that was away when the run ended hears of it when it is back.
  EXPECT_TRUE(WaitForAudit(c_, "S6", "finished; the result"));
  CommandResult audit = Audit(c_, "S6");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out, HasSubstr("finished; the result was released"));
  EXPECT_THAT(audit.out, Not(HasSubstr("Stopped taking part")));
  // The connection really dropped where the test asked.
  std::ifstream log(c_.dir() / "S6.log");
  std::stringstream node_log;
  node_log << log.rdbuf();
  EXPECT_THAT(node_log.str(),
              HasSubstr((before_send ? "dropping the connection before round "
                                     : "dropping the connection after round ") +
                        std::to_string(round)));
  if (before_send) {
    EXPECT_THAT(audit.out, HasSubstr("Sent round " + std::to_string(round) +
                                     " of query " + q->ticket().query_id() +
                                     " again after reconnecting"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rounds, FlowReconnectTest,
    ::testing::Combine(::testing::Values(0, 1, 2, 3, 4), ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<int, bool>>& i) {
      return std::string(std::get<1>(i.param) ? "Before" : "After") + "Round" +
             std::to_string(std::get<0>(i.param));
    });

// The largest layout a query can ask for runs end to end: a regression of
// one scale on 19 others and the municipality (dummy-coded), by grade and
// track, over 400 municipalities: about 9.6 million elements, near secure
// aggregation's limit of 10 million. Each school's masked input (tens of
// MB) reaches the coordinator in chunks under its 1 MiB receive limit.
TEST_F(FlowTest, LargestLayoutRunsEndToEndInChunks) {
  c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/300);
  for (const char* s : {"S1", "S3", "S5"}) {
    c_.AddSchool(s, kMunicipality.at(s), 7, 150, approver_);
  }
  Start({"S1", "S3", "S5"});
  nlohmann::json spec = {{"statistic", "regression"},
                         {"measures", {"belong_perception"}},
                         {"groupBy", {"grade", "track"}},
                         {"purpose", "the largest layout"}};
  for (const char* m : {"belong_competencies",
                        "belong_opportunities",
                        "belong_motivation",
                        "ST034Q01",
                        "ST034Q02",
                        "ST034Q03",
                        "ST034Q04",
                        "ST034Q05",
                        "ST034Q06",
                        "KB_COMP01",
                        "KB_COMP02",
                        "KB_COMP03",
                        "KB_COMP04",
                        "KB_OPP01",
                        "KB_OPP02",
                        "KB_OPP03",
                        "KB_OPP04",
                        "KB_MOT01",
                        "KB_MOT02",
                        "municipality"}) {
    spec["predictors"].push_back(m);
  }
  for (int i = 1; i <= 400; ++i) {  // with GM0599, S3's
    char code[8];
    std::snprintf(code, sizeof code, "GM%04d", i == 400 ? 599 : i);
    spec["population"]["municipalities"].push_back(code);
  }
  auto q = c_.Submit(researcher_, spec.dump());
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done =
      c_.WaitDone(researcher_, q->ticket().query_id(), /*seconds=*/1200);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  // How large each masked input was: the run's ring and length.
  CommandResult log =
      Command(std::string(KRING_COORDINATOR_BINARY) + " audit --data-dir '" +
              c_.coordinator_dir() + "'");
  const size_t at = log.out.find("-bit ring, ");
  ASSERT_NE(at, std::string::npos) << log.out;
  const uint64_t bits = std::stoull(log.out.substr(log.out.rfind(' ', at) + 1));
  const uint64_t elements = std::stoull(log.out.substr(at + 11));
  const uint64_t packed = (elements * bits + 7) / 8;
  std::cout << "largest layout: " << elements << " elements, " << bits
            << "-bit ring: a masked input of " << packed / (1 << 20)
            << " MiB in chunks of " << api::kChunkBytes / 1024 << " KiB\n";
  RecordProperty("masked_input_mib", static_cast<int>(packed >> 20));
  EXPECT_GT(elements, 9'000'000u);
  EXPECT_GT(packed, 8u * api::kMaxReceiveBytes);
}

TEST_F(FlowTest, TooFewSchoolsLeftFailsCleanlyWithoutResult) {
  Schools(3, /*start=*/false);
  c_.StartNode("S3", /*crash_after_round=*/0);
  Start({"S1", "S2"}, /*hooked=*/{"S3"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_FALSE(done.reason().empty());
  v1::GetResultRequest req;
  req.set_query_id(q->ticket().query_id());
  v1::GetResultResponse resp;
  EXPECT_EQ(c_.Call(researcher_, "GetResult", req, &resp,
                    &v1::Coordinator::Stub::GetResult)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Offline kring-coordinator commands run beside `serve` without touching
// its running queries (issue 12, item 4): a query waits for school IT while
// an operator makes an enrollment code and reads the audit log; it is then
// released, and no "failed" entry appears. A second serve on the same data
// is refused.
TEST_F(FlowTest, OfflineCommandsLeaveRunningQueriesAlone) {
  Schools(3, /*start=*/false);
  const std::string yaml = c_.SchoolDir("S3") + "/node.yaml";
  ASSERT_EQ(Command("sed -i 's/manual_accept: false/manual_accept: true/' '" +
                    yaml + "'")
                .exit_code,
            0);
  Start({"S1", "S2", "S3"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  const std::string node = std::string(KRING_NODE_BINARY);
  const std::string dir = " --data-dir '" + c_.SchoolDir("S3") + "'";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Command(node + " pending" + dir)
                   .out.find(q->ticket().query_id()) != std::string::npos;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));
  const std::string coord_dir = " --data-dir '" + c_.coordinator_dir() + "'";
  CommandResult code = Command(
      std::string(KRING_COORDINATOR_BINARY) + " enroll-code" + coord_dir +
      " --brin S9 --name 'S9 school' --municipality GM0363");
  ASSERT_EQ(code.exit_code, 0) << code.out;
  CommandResult audit =
      Command(std::string(KRING_COORDINATOR_BINARY) + " audit" + coord_dir);
  ASSERT_EQ(audit.exit_code, 0) << audit.out;
  // (timeout: a second serve that were not refused would keep running)
  CommandResult second =
      Command("timeout 20 " + std::string(KRING_COORDINATOR_BINARY) +
              " serve --insecure-loopback --listen "
              "127.0.0.1:0" +
              coord_dir + " </dev/null");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.out, HasSubstr("another kring-coordinator serve"));
  ASSERT_EQ(Command(node + " accept " + q->ticket().query_id() + dir).exit_code,
            0);
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  audit = Command(std::string(KRING_COORDINATOR_BINARY) + " audit" + coord_dir);
  EXPECT_THAT(audit.out, HasSubstr("released"));
  EXPECT_THAT(audit.out, ::testing::Not(HasSubstr("restarted")));
}

// `kring-node enroll` writes the store's special-category setting into
// node.yaml (issue 13): a store made with --special-categories takes part
// in queries on it, one made without does not.
TEST_F(FlowTest, EnrollKeepsTheStoresSpecialCategorySetting) {
  c_.StartCoordinator();
  const std::filesystem::path base =
      std::filesystem::path(c_.coordinator_dir()).parent_path();
  const std::string approver_key = (base / "approver.pub").string();
  for (const bool special : {true, false}) {
    const std::string name = special ? "SP1" : "SP0";
    const std::string dir = (base / name).string();
    const std::string key = (base / (name + ".key")).string();
    const std::string common =
        " --data-dir '" + dir + "' --key-file '" + key + "'";
    CommandResult r =
        Command(std::string(KRING_NODE_BINARY) + " init" +
                (special ? " --special-categories" : "") + common);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = Command(std::string(KRING_COORDINATOR_BINARY) +
                " enroll-code --data-dir '" + c_.coordinator_dir() +
                "' --brin " + name + " --name '" + name +
                " school' --municipality GM0363");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::string code = r.out.substr(0, r.out.find('\n'));
    r = Command(std::string(KRING_NODE_BINARY) + " enroll --coordinator " +
                c_.address() + " --insecure-loopback --code " + code +
                " --approver-key '" + approver_key + "'" + common);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::ifstream in(dir + "/node.yaml");
    const std::string yaml((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
    EXPECT_THAT(yaml, HasSubstr(special ? "special_categories: true"
                                        : "special_categories: false"))
        << yaml;
  }
}

TEST_F(FlowTest, SchoolITAcceptsByHandWhenItsPolicySaysSo) {
  Schools(3, /*start=*/false);
  // S3 wants to accept each query by hand.
  const std::string yaml = c_.SchoolDir("S3") + "/node.yaml";
  auto edit = Command("sed -i 's/manual_accept: false/manual_accept: true/' '" +
                      yaml + "'");
  ASSERT_EQ(edit.exit_code, 0);
  Start({"S1", "S2", "S3"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  const std::string node = std::string(KRING_NODE_BINARY);
  const std::string dir = " --data-dir '" + c_.SchoolDir("S3") + "'";
  std::string listed;
  WaitUntil(
      [&] {
        listed = Command(node + " pending" + dir).out;
        return listed.find(q->ticket().query_id()) != std::string::npos;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  ASSERT_THAT(listed, HasSubstr(q->ticket().query_id()));
  EXPECT_THAT(listed, HasSubstr("Mean"));
  auto accepted = Command(node + " accept " + q->ticket().query_id() + dir);
  ASSERT_EQ(accepted.exit_code, 0) << accepted.out;
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  bool by_hand = false;
  for (const auto& d : done.decisions()) {
    by_hand |= d.school_id().starts_with("S3") &&
               d.reason().find("school IT") != std::string::npos;
  }
  EXPECT_TRUE(by_hand);
  EXPECT_EQ(Command(node + " accept nope" + dir).exit_code, 1);
}

// A school's privacy budget is kept across queries (and restarts of its
// node) and declines the query that would exceed it; `kring-node budget`
// shows what was spent, by whom.
TEST_F(FlowTest, ASchoolDeclinesOnceItsPrivacyBudgetIsSpent) {
  Schools(4, /*start=*/false);
  const std::string yaml = c_.SchoolDir("S1") + "/node.yaml";
  ASSERT_EQ(Command("sed -i -e 's/privacy_budget_per_wave: 1$/"
                    "privacy_budget_per_wave: 0.15/' -e "
                    "'s/max_rho_per_query: 0.25$/max_rho_per_query: 0.15/' '" +
                    yaml + "'")
                .exit_code,
            0);
  ASSERT_THAT(Command("cat '" + yaml + "'").out,
              HasSubstr("privacy_budget_per_wave: 0.15"));
  Start({"S1", "S2", "S3", "S4"});
  auto run = [&](const std::string& spec) {
    auto q = c_.Submit(researcher_, spec);  // rho 0.1 by default
    EXPECT_TRUE(q.ok()) << q.status();
    EXPECT_TRUE(c_.Approve(approver_, *q).ok());
    return c_.WaitDone(researcher_, q->ticket().query_id());
  };
  v1::QueryInfo first = run(kSpec);
  ASSERT_EQ(first.state(), v1::QUERY_STATE_RELEASED) << first.reason();
  EXPECT_EQ(first.participants(), 4u);
  // The node restarts; its ledger does not forget.
  c_.StopNode("S1");
  Start({"S1"}, {"S2", "S3", "S4"});
  // Another statistic: the coordinator's release ledger would refuse the
  // same one over one school fewer (differencing).
  v1::QueryInfo second = run(R"({"statistic": "count", "groupBy": ["gender"],
      "population": {"waves": ["2025-26"]}, "purpose": "integration test"})");
  ASSERT_EQ(second.state(), v1::QUERY_STATE_RELEASED) << second.reason();
  EXPECT_EQ(second.participants(), 3u);
  std::string why;
  for (const auto& d : second.decisions()) {
    if (d.school_id().starts_with("S1")) why = d.reason();
  }
  EXPECT_THAT(why, HasSubstr("privacy budget for wave 2025-26 is spent"));
  CommandResult budget =
      Command(std::string(KRING_NODE_BINARY) + " budget --json --data-dir '" +
              c_.SchoolDir("S1") + "' --key-file '" + c_.SchoolKey("S1") + "'");
  ASSERT_EQ(budget.exit_code, 0) << budget.out;
  const nlohmann::json ledger = nlohmann::json::parse(budget.out);
  ASSERT_EQ(ledger["spent"].size(), 1u) << budget.out;
  EXPECT_EQ(ledger["spent"][0]["query_id"], first.ticket().query_id());
  EXPECT_EQ(ledger["spent"][0]["requester"], researcher_.id);
  EXPECT_DOUBLE_EQ(ledger["spent"][0]["rho"].get<double>(),
                   query::kDefaultQueryRho);
  EXPECT_DOUBLE_EQ(ledger["waves"]["2025-26"]["spent"].get<double>(),
                   query::kDefaultQueryRho);
  EXPECT_DOUBLE_EQ(ledger["budget_per_wave"].get<double>(), 0.15);
}

// The schools draw their noise when they accept, calibrated for all six
// schools asked. Three decline: too few for that calibration, so the three
// that accepted are asked again with the noise calibrated for three. They
// accept at once, draw again, and the release is the pooled computation of
// the three with that calibration.
TEST_F(FlowTest, TooManyDeclinesRecalibrateTheNoise) {
  Schools(6, /*start=*/false);
  for (const char* school : {"S4", "S5", "S6"}) {
    const std::string yaml = c_.SchoolDir(school) + "/node.yaml";
    ASSERT_EQ(Command("sed -i 's/max_rho_per_query: 0.25$/"
                      "max_rho_per_query: 0.05/' '" +
                      yaml + "'")
                  .exit_code,
              0);
  }
  Start({"S1", "S2", "S3", "S4", "S5", "S6"});
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  const std::string id = q->ticket().query_id();
  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  EXPECT_EQ(done.decisions_size(), 6);
  EXPECT_EQ(ResultJson(c_, researcher_, id),
            Pooled(c_, kSpec, {"S1", "S2", "S3"}, /*roster=*/3));
  EXPECT_THAT(CoordinatorAudit(c_).out,
              HasSubstr("only 3 schools accepted, fewer than the 4 its noise "
                        "was calibrated for"));
  EXPECT_THAT(Audit(c_, "S1").out,
              HasSubstr("Accepted query " + id + " again: fewer schools"));
  EXPECT_THAT(Audit(c_, "S4").out, Not(HasSubstr("Accepted query " + id)));
}

TEST_F(FlowTest, SchoolRefusesARunSmallerThanItsOwnMinimum) {
  Schools(3, /*start=*/false);
  const std::string yaml = c_.SchoolDir("S1") + "/node.yaml";
  ASSERT_EQ(Command("sed -i 's/min_schools: 3/min_schools: 4/' '" + yaml + "'")
                .exit_code,
            0);
  Start({"S1", "S2", "S3"});
  // The spec asks for 4 schools per cell, so S1 accepts the task; the run
  // then has only 3 schools, and S1 stays out of it.
  auto q = c_.Submit(researcher_, R"({"statistic": "count",
      "groupBy": ["gender"], "disclosure": {"minSchools": 4}})");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(c_.Approve(approver_, *q).ok());
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  EXPECT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(Audit(c_, "S1").out,
              HasSubstr("takes part only with at least 4"));
}

TEST_F(FlowTest, MunicipalityPreapprovesItsOwnQuery) {
  TestUser city = c_.AddUser("city", "municipality", "GM0363");
  c_.StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4,
                      {"--municipality-preapproval"});
  const std::string trust =
      " --municipality-key '" + (c_.dir() / "city.pub").string() + "'";
  for (const char* s : {"M1", "M2", "M3"}) {
    c_.AddSchool(s, "GM0363", 7, 150, approver_, trust);
  }
  c_.AddSchool("M4", "GM0599", 8, 150, approver_, trust);  // not its own
  for (const char* s : {"M1", "M2", "M3", "M4"}) c_.StartNode(s);
  c_.WaitConnected(admin_, {"M1", "M2", "M3", "M4"});
  auto own = c_.Submit(city, R"({"statistic": "count", "groupBy": ["gender"],
      "population": {"municipalities": ["GM0363"]}})");
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE(c_.Approve(city, *own).ok());  // its own signature
  v1::QueryInfo done = c_.WaitDone(city, own->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  // Another user's query cannot be approved by the municipality: it is
  // hidden from it, as if it did not exist.
  auto other = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(c_.Approve(city, *other).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(FlowTest, ApprovalBySomeoneTheSchoolsDoNotTrustIsDeclined) {
  TestUser stranger = c_.AddUser("stranger", "approver");
  Schools(4);
  auto q = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(c_.Approve(stranger, *q).ok());  // the coordinator accepts it
  v1::QueryInfo done = c_.WaitDone(researcher_, q->ticket().query_id());
  ASSERT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  ASSERT_EQ(done.decisions_size(), 4);
  for (const auto& d : done.decisions()) {
    EXPECT_FALSE(d.accepted()) << d.school_id();
    EXPECT_THAT(d.reason(), HasSubstr("approvers this school trusts"));
  }
}

TEST_F(FlowTest, BadRequestsAreRefused) {
  c_.StartCoordinator();
  // Unsigned.
  {
    v1::ListQueriesRequest req;
    req.mutable_auth()->set_user_id("researcher");
    v1::ListQueriesResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(c_.stub().ListQueries(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Replayed: the same signed request twice.
  {
    v1::ListQueriesRequest req;
    ASSERT_TRUE(
        api::SignRequest("ListQueries", researcher_.id, *researcher_.key, req)
            .ok());
    v1::ListQueriesResponse resp;
    grpc::ClientContext a, b;
    EXPECT_TRUE(c_.stub().ListQueries(&a, req, &resp).ok());
    EXPECT_EQ(c_.stub().ListQueries(&b, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Signed for another method.
  {
    v1::ListQueriesRequest req;
    ASSERT_TRUE(
        api::SignRequest("ListNodes", admin_.id, *admin_.key, req).ok());
    v1::ListQueriesResponse resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(c_.stub().ListQueries(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Wrong role.
  {
    v1::ListNodesResponse resp;
    EXPECT_EQ(c_.Call(researcher_, "ListNodes", v1::ListNodesRequest(), &resp,
                      &v1::Coordinator::Stub::ListNodes)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::SubmitQueryRequest sub;
    sub.mutable_spec()->set_statistic("count");
    v1::SubmitQueryResponse sresp;
    EXPECT_EQ(c_.Call(approver_, "SubmitQuery", sub, &sresp,
                      &v1::Coordinator::Stub::SubmitQuery)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // A bad spec gets a message a person can act on.
  {
    auto q =
        c_.Submit(researcher_,
                  R"({"statistic": "mean", "measures": ["belong_percption"]})");
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(q.status().message()),
                HasSubstr("did you mean `belong_perception`"));
  }
  // A municipality outside its own scope.
  {
    TestUser city = c_.AddUser("city", "municipality", "GM0363");
    auto q = c_.Submit(city, R"({"statistic": "count",
        "population": {"municipalities": ["GM0599"]}})");
    EXPECT_EQ(q.status().code(), absl::StatusCode::kPermissionDenied);
  }
  // Oversized.
  {
    v1::SubmitQueryRequest sub;
    sub.mutable_spec()->set_statistic("count");
    sub.mutable_spec()->set_purpose(std::string(70 << 20, 'x'));
    v1::SubmitQueryResponse sresp;
    EXPECT_EQ(c_.Call(researcher_, "SubmitQuery", sub, &sresp,
                      &v1::Coordinator::Stub::SubmitQuery)
                  .error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
}

TEST_F(FlowTest, CoordinatorRestartFailsTheRunningQueryAndKeepsTheRest) {
  Schools(3, /*start=*/false);
  auto waiting = c_.Submit(researcher_, kSpec);
  auto running = c_.Submit(researcher_, kSpec);
  ASSERT_TRUE(waiting.ok() && running.ok());
  ASSERT_TRUE(c_.Approve(approver_, *running).ok());  // no node is up
  c_.StopCoordinator();
  c_.StartCoordinator();
  v1::QueryInfo failed = c_.WaitDone(researcher_, running->ticket().query_id());
  EXPECT_EQ(failed.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(failed.reason(), HasSubstr("restarted"));
  v1::GetQueryRequest req;
  req.set_query_id(waiting->ticket().query_id());
  v1::GetQueryResponse resp;
  ASSERT_TRUE(c_.Call(researcher_, "GetQuery", req, &resp,
                      &v1::Coordinator::Stub::GetQuery)
                  .ok());
  EXPECT_EQ(resp.query().state(), v1::QUERY_STATE_AWAITING_APPROVAL);
  // The coordinator's audit log verifies, and detects tampering.
  auto ok =
      Command(std::string(KRING_COORDINATOR_BINARY) +
              " audit --verify --data-dir '" + c_.coordinator_dir() + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  c_.StopCoordinator();
  auto tamper = Command("sqlite3 '" + c_.coordinator_dir() +
                        "/coordinator.db' \"UPDATE audit SET summary = "
                        "'nothing happened' WHERE seq = 2\"");
  ASSERT_EQ(tamper.exit_code, 0) << tamper.out;
  auto bad =
      Command(std::string(KRING_COORDINATOR_BINARY) +
              " audit --verify --data-dir '" + c_.coordinator_dir() + "'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("altered at entry 2"));
}

}  // namespace
}  // namespace kring::testing
