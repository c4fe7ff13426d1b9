// The node agent against a scripted coordinator on loopback: a school sends
// its contribution to a query at most once, whatever the coordinator sends.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "api/auth.h"
#include "crypto/secagg/coordinator.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/parameters.h"
#include "crypto/secagg/setup.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kring/v1/service.grpc.pb.h"
#include "node/agent.h"
#include "node/audit.h"
#include "node/importer.h"
#include "node/store.h"
#include "node/synth.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {

using survey::Instrument;
namespace {

using ::testing::HasSubstr;
using Stream =
    grpc::ServerReaderWriter<v1::CoordinatorToNode, v1::NodeToCoordinator>;

constexpr char kSchool[] = "B-2";  // the agent's school, roster index 1
constexpr uint32_t kAgentIndex = 1;

// A coordinator that runs one script per node connection, in order.
class ScriptedCoordinator final : public v1::Coordinator::Service {
 public:
  using Script = std::function<void(Stream&)>;

  void Add(Script s) {
    std::lock_guard lock(mu_);
    scripts_.push_back(std::move(s));
  }
  // Waits until every script added so far has run; false after a minute
  // (a school that stopped answering).
  bool WaitIdle() {
    std::unique_lock lock(mu_);
    return idle_.wait_for(lock, std::chrono::minutes(1),
                          [&] { return scripts_.empty() && running_ == 0; });
  }

  grpc::Status Connect(grpc::ServerContext*, Stream* stream) override {
    v1::NodeToCoordinator hello;
    if (!stream->Read(&hello)) return grpc::Status::OK;
    Script script;
    {
      std::lock_guard lock(mu_);
      if (!scripts_.empty()) {
        script = std::move(scripts_.front());
        scripts_.pop_front();
        ++running_;
      }
    }
    if (!script) {
      // Nothing more to say: hold the connection until the node leaves.
      while (stream->Read(&hello)) {
      }
      return grpc::Status::OK;
    }
    script(*stream);
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    idle_.notify_all();
    while (stream->Read(&hello)) {
    }
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::deque<Script> scripts_;
  int running_ = 0;
};

v1::QuerySpec Spec() {
  auto spec = query::ParseQuerySpecJson(R"({
    "statistic": "mean",
    "measures": ["belong_perception"],
    "purpose": "agent run test"
  })");
  return *spec;
}

class AgentRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-agent-run-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    auto store =
        Store::Init(dir_ / "data", KeySource::KeyFile(dir_ / "key"), {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_.emplace(*std::move(store));
    SynthOptions synth;
    synth.rows = 40;
    synth.seed = 5;
    auto imported = ImportExport(
        *store_, SynthesizeExport(Instrument::BelongingV1(), synth),
        Instrument::BelongingV1(), {}, false);
    ASSERT_TRUE(imported.ok()) << imported.status();
    auto audit =
        AuditLog::Open(dir_ / "data", store_->DeriveSubkey("audit-log-v1"));
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_.emplace(*std::move(audit));
    ASSERT_TRUE(identities_[kAgentIndex]
                    .SavePrivateKeyFile(dir_ / "data" / "node.key")
                    .ok());

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&coordinator_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);

    // One run's configuration: this school and two in-process schools.
    auto q = query::Query::Create(Spec(), Instrument::BelongingV1());
    ASSERT_TRUE(q.ok());
    query::Layout layout(*q);
    auto params = crypto::secagg::ChooseParameters(3, {});
    ASSERT_TRUE(params.ok());
    // The bounds of a real run: room for each school's noise and offsets.
    auto plan =
        query::NoisePlan::Create(layout, q->rho(), params->threshold, 3);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const std::vector<uint64_t> bounds = plan->NodeBounds();
    config_.set_query_id("q-1");
    config_.set_query_seed(ticket_seed_);
    for (int i = 0; i < 3; ++i) {
      auto* p = config_.add_roster();
      p->set_node_id("B-" + std::to_string(i + 1));
      p->set_identity_public_key(
          std::string(identities_[i].public_key().bytes()));
    }
    config_.set_dims(static_cast<uint32_t>(bounds.size()));
    config_.set_modulus_bits(
        static_cast<uint32_t>(*crypto::secagg::ChooseModulusBits(bounds, 3)));
    config_.set_complete_graph(params->complete);
    config_.set_degree(params->degree);
    config_.set_threshold(params->threshold);
    for (uint64_t b : bounds) config_.add_element_bounds(b);
  }

  void TearDown() override {
    StopAgent();
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void StartAgent() {
    auto agent = MakeAgent();
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    thread_ = std::thread([this] { agent_->Run(); });
  }
  absl::StatusOr<std::unique_ptr<Agent>> MakeAgent() {
    AgentOptions options;
    options.data_dir = dir_ / "data";
    options.config.coordinator = address_;
    options.config.insecure_loopback = true;
    options.config.school_id = kSchool;
    options.config.municipality = "GM0363";
    options.config.approvers.push_back(approver_.public_key());
    options.backoff_min = std::chrono::milliseconds(20);
    options.noise = noise_;
    return Agent::Create(std::move(options), &*store_, &*audit_);
  }
  // Like stopping the kring-node process: everything in memory is gone.
  void StopAgent() {
    if (!agent_) return;
    agent_->Stop();
    thread_.join();
    agent_.reset();
  }

  v1::CoordinatorToNode Task(const std::string& query_id) {
    v1::QueryTicket t;
    t.set_query_id(query_id);
    t.set_requester_id("researcher");
    t.set_requester_role(v1::ROLE_RESEARCHER);
    *t.mutable_spec() = Spec();
    t.set_query_seed(ticket_seed_);
    v1::CoordinatorToNode m;
    v1::Task* task = m.mutable_task();
    task->set_query_id(query_id);
    task->set_ticket_bytes(api::CanonicalBytes(t));
    // Calibrated as the coordinator does for three schools.
    task->mutable_noise()->set_min_shares(config_.threshold());
    task->mutable_noise()->set_max_shares(3);
    v1::Approval* a = task->add_approvals();
    a->set_approver_id("approver");
    a->set_approver_public_key(std::string(approver_.public_key().bytes()));
    a->set_signature(
        *approver_.Sign(api::kApprovalContext, task->ticket_bytes()));
    return m;
  }

  // Sends a task and expects the school to accept it.
  static void ExpectAccepted(Stream& s, const v1::CoordinatorToNode& task) {
    ASSERT_TRUE(s.Write(task));
    v1::NodeToCoordinator reply;
    ASSERT_TRUE(s.Read(&reply));
    ASSERT_TRUE(reply.has_decision());
    EXPECT_EQ(reply.decision().query_id(), task.task().query_id());
    EXPECT_TRUE(reply.decision().accept()) << reply.decision().reason();
  }

  v1::CoordinatorToNode RunStart() const {
    v1::CoordinatorToNode m;
    m.mutable_run_start()->set_query_id(config_.query_id());
    *m.mutable_run_start()->mutable_config() = config_;
    return m;
  }

  // Runs the whole secure aggregation of q-1 with the school over `s` and
  // two in-process schools; true if the school's input is in the sum.
  bool RunSecureAggregation(Stream& s) {
    auto setup = crypto::secagg::SecAggSetup::Create(config_);
    EXPECT_TRUE(setup.ok()) << setup.status();
    auto coordinator = crypto::secagg::SecAggCoordinator::Create(*setup);
    EXPECT_TRUE(coordinator.ok());
    std::vector<std::optional<crypto::secagg::SecAggNode>> others(3);
    for (uint32_t i : {0u, 2u}) {
      auto node = crypto::secagg::SecAggNode::Create(
          *setup, i, identities_[i], std::vector<uint64_t>(config_.dims(), 0));
      EXPECT_TRUE(node.ok()) << node.status();
      others[i].emplace(*std::move(node));
      EXPECT_TRUE(coordinator->Receive(*others[i]->Start()).ok());
    }
    v1::NodeToCoordinator reply;
    if (!s.Write(RunStart()) || !s.Read(&reply)) return false;
    EXPECT_TRUE(coordinator->Receive(reply.secagg()).ok());
    while (!coordinator->finished() && !coordinator->failed()) {
      auto outgoing = coordinator->CloseRound();
      EXPECT_TRUE(outgoing.ok()) << outgoing.status();
      if (!outgoing.ok()) return false;
      bool to_agent = false;
      for (const auto& o : *outgoing) {
        if (o.to == kAgentIndex) {
          v1::CoordinatorToNode m;
          *m.mutable_secagg() = o.message;
          if (!s.Write(m)) return false;
          to_agent = true;
        } else {
          auto r = others[o.to]->Handle(o.message);
          EXPECT_TRUE(r.ok()) << r.status();
          EXPECT_TRUE(coordinator->Receive(*r).ok());
        }
      }
      if (to_agent) {
        if (!s.Read(&reply)) return false;
        EXPECT_TRUE(coordinator->Receive(reply.secagg()).ok());
      }
    }
    if (!coordinator->finished()) return false;
    const auto& in = coordinator->result().contributors;
    return std::find(in.begin(), in.end(), kAgentIndex) != in.end();
  }

  std::vector<AuditEntry> Entries(const std::string& kind) {
    std::vector<AuditEntry> out;
    auto all = audit_->Entries();
    EXPECT_TRUE(all.ok());
    for (auto& e : *all) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::optional<Store> store_;
  std::optional<AuditLog> audit_;
  crypto::IdentityKeyPair approver_ = crypto::IdentityKeyPair::Generate();
  std::array<crypto::IdentityKeyPair, 3> identities_ = {
      crypto::IdentityKeyPair::Generate(), crypto::IdentityKeyPair::Generate(),
      crypto::IdentityKeyPair::Generate()};
  std::string ticket_seed_ = std::string(32, '\x5a');
  std::shared_ptr<query::NoiseSource> noise_;  // SystemNoise() when null
  v1::SecAggConfig config_;
  ScriptedCoordinator coordinator_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<Agent> agent_;
  std::thread thread_;
};

TEST_F(AgentRunTest, SchoolContributesToAQueryAtMostOnce) {
  bool contributed = false;
  // The honest run, then the same run started again after it ended.
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    contributed = RunSecureAggregation(s);
    v1::CoordinatorToNode end;
    end.mutable_run_end()->set_query_id("q-1");
    end.mutable_run_end()->set_success(true);
    ASSERT_TRUE(s.Write(end));
    ASSERT_TRUE(s.Write(RunStart()));
    // The school answers tasks in order: once q-2 is answered, the second
    // start of q-1 was handled (refused: no answer).
    ExpectAccepted(s, Task("q-2"));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_TRUE(contributed);
  ASSERT_EQ(Entries("sent").size(), 1u);
  ASSERT_EQ(Entries("refused").size(), 1u);
  EXPECT_THAT(Entries("refused")[0].summary,
              HasSubstr("Refused to take part in query q-1 again"));

  // The school restarts (nothing in memory) and the coordinator replays the
  // task and the start of q-1: its audit log stops it.
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    ASSERT_TRUE(s.Write(RunStart()));
    ExpectAccepted(s, Task("q-3"));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_EQ(Entries("sent").size(), 1u);
  const auto refused = Entries("refused");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_THAT(refused[1].summary,
              HasSubstr("already sent its contribution to it"));
  EXPECT_TRUE(audit_->Verify().ok());
}

TEST_F(AgentRunTest, StoreRemembersTheContributionWhenTheAuditLogIsLost) {
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    EXPECT_TRUE(RunSecureAggregation(s));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_THAT(store_->Contributed("q-1"), ::kring::testing::IsOkAndHolds(true));
  EXPECT_THAT(store_->Contributed("q-2"),
              ::kring::testing::IsOkAndHolds(false));
  // The audit log is lost (a fresh one elsewhere); the store still knows.
  std::filesystem::create_directories(dir_ / "fresh");
  auto fresh = AuditLog::Open(dir_ / "fresh", store_->DeriveSubkey("x"));
  ASSERT_TRUE(fresh.ok());
  audit_.emplace(*std::move(fresh));
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    ASSERT_TRUE(s.Write(RunStart()));
    ExpectAccepted(s, Task("q-2"));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_TRUE(Entries("sent").empty());
  ASSERT_EQ(Entries("refused").size(), 1u);
  EXPECT_THAT(Entries("refused")[0].summary,
              HasSubstr("already sent its contribution"));
}

TEST_F(AgentRunTest, AnAbortedRunIsReportedToTheCoordinator) {
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    v1::NodeToCoordinator reply;
    ASSERT_TRUE(s.Write(RunStart()));
    ASSERT_TRUE(s.Read(&reply));
    ASSERT_TRUE(reply.secagg().has_advertise_keys());
    // Round 1 handing the school its own keys as a neighbour's: it aborts,
    // and says so instead of falling silent.
    v1::CoordinatorToNode keys;
    keys.mutable_secagg()->set_query_id("q-1");
    keys.mutable_secagg()->set_round(1);
    *keys.mutable_secagg()->mutable_neighbour_keys()->add_keys() =
        reply.secagg().advertise_keys();
    ASSERT_TRUE(s.Write(keys));
    ASSERT_TRUE(s.Read(&reply));
    ASSERT_TRUE(reply.has_abort()) << reply.DebugString();
    EXPECT_EQ(reply.abort().query_id(), "q-1");
    EXPECT_FALSE(reply.abort().success());
    EXPECT_THAT(reply.abort().reason(),
                HasSubstr("secure aggregation aborted: received keys of node"));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_EQ(Entries("aborted").size(), 1u);
}

TEST_F(AgentRunTest, OneAgentPerDataDirectory) {
  StartAgent();
  auto second = MakeAgent();
  EXPECT_THAT(second, ::kring::testing::StatusIs(
                          absl::StatusCode::kFailedPrecondition,
                          HasSubstr("another `kring-node run`")));
  StopAgent();
  EXPECT_TRUE(MakeAgent().ok());
}

TEST_F(AgentRunTest, RepeatedMessageGetsTheSameAnswerAndAChangedOneNone) {
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    v1::NodeToCoordinator first, again;
    ASSERT_TRUE(s.Write(RunStart()));
    ASSERT_TRUE(s.Read(&first));
    ASSERT_TRUE(first.secagg().has_advertise_keys());
    // The same start again (as after a reconnect): the same keys again.
    ASSERT_TRUE(s.Write(RunStart()));
    ASSERT_TRUE(s.Read(&again));
    EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
    // A different start of the same query: no second set of keys.
    v1::CoordinatorToNode changed = RunStart();
    changed.mutable_run_start()->mutable_config()->set_threshold(3);
    ASSERT_TRUE(s.Write(changed));
    ExpectAccepted(s, Task("q-2"));
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_EQ(Entries("resent").size(), 1u);
  ASSERT_EQ(Entries("rejected").size(), 1u);
  EXPECT_THAT(Entries("rejected")[0].summary,
              HasSubstr("second, different start of query q-1"));
}

// Zero noise that counts its samples and draws none until the test has
// seen the school's decision (or a minute has passed).
class GatedCountingNoise final : public query::NoiseSource {
 public:
  absl::StatusOr<std::vector<int64_t>> Sample(const crypto::Rational&,
                                              size_t count) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::minutes(1), [&] { return open_; })) {
      drawn_before_open_ = true;
    }
    samples_ += count;
    cv_.notify_all();
    return std::vector<int64_t>(count, 0);
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits (at most a minute) until `n` samples were drawn.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1),
                        [&] { return samples_ >= n; });
  }
  size_t samples() {
    std::lock_guard lock(mu_);
    return samples_;
  }
  bool drawn_before_open() {
    std::lock_guard lock(mu_);
    return drawn_before_open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool drawn_before_open_ = false;
  size_t samples_ = 0;
};

// The noise is drawn after the decision has left and before the run
// starts: no message of the run waits for the sampling (whose time could
// tell the noise).
TEST_F(AgentRunTest, NoiseIsDrawnWhenTheSchoolAcceptsNotWhenTheRunStarts) {
  auto noise = std::make_shared<GatedCountingNoise>();
  noise_ = noise;
  bool contributed = false;
  size_t drawn_at_accept = 0;
  coordinator_.Add([&](Stream& s) {
    ExpectAccepted(s, Task("q-1"));
    // The decision arrived while sampling was still held back.
    EXPECT_EQ(noise->samples(), 0u);
    noise->Open();
    ASSERT_TRUE(noise->WaitFor(config_.dims()));
    drawn_at_accept = noise->samples();
    contributed = RunSecureAggregation(s);
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  EXPECT_TRUE(contributed);
  EXPECT_FALSE(noise->drawn_before_open());
  EXPECT_EQ(drawn_at_accept, config_.dims());
  EXPECT_EQ(noise->samples(), drawn_at_accept);  // nothing drawn in the run
}

// A run whose threshold is below the calibration the school drew its
// noise for would reveal a sum with too little noise: refused.
TEST_F(AgentRunTest, ARunBelowTheNoiseCalibrationIsRefused) {
  coordinator_.Add([&](Stream& s) {
    v1::CoordinatorToNode task = Task("q-1");
    task.mutable_task()->mutable_noise()->set_min_shares(3);
    ExpectAccepted(s, task);
    ASSERT_TRUE(s.Write(RunStart()));  // threshold 2 of 3
    v1::NodeToCoordinator reply;
    ASSERT_TRUE(s.Read(&reply));
    ASSERT_TRUE(reply.has_abort()) << reply.DebugString();
  });
  StartAgent();
  ASSERT_TRUE(coordinator_.WaitIdle());
  StopAgent();
  ASSERT_EQ(Entries("aborted").size(), 1u);
  EXPECT_THAT(Entries("aborted")[0].summary,
              HasSubstr("does not keep to the noise calibration this school "
                        "accepted (sums of at least 3 of at most 3 schools)"));
  EXPECT_TRUE(Entries("sent").empty());
}

}  // namespace
}  // namespace kring::node
