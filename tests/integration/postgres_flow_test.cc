// Real kring-coordinator processes on a throwaway PostgreSQL 15 cluster
// (label postgres): a query released end to end with the state in
// PostgreSQL, and failover: the active coordinator is killed (SIGKILL)
// while a query runs; the standby on the same database takes over, the
// nodes (given both addresses) reconnect to it, the running query fails
// cleanly and is re-run, and nothing submitted or released is lost.
// (The kill comes from kring-node-faulty --sigkill-after, as in
// flow_test.cc's CoordinatorKillTest, at each stage of a run.)

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/database.h"
#include "tests/integration/cluster.h"
#include "tests/testing/postgres_cluster.h"

namespace kring::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSpec = R"({"statistic": "count",
    "groupBy": ["gender"], "population": {"waves": ["2025-26"]},
    "purpose": "postgres integration test"})";

std::string ReadAll(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PostgresFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PostgresCluster::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    auto url = pg_->CreateDatabase("kring");
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    // Every kring-coordinator command the cluster runs (init, add-user,
    // enroll-code, serve) reads it.
    ::setenv("KRING_COORDINATOR_DATABASE", url_.c_str(), 1);
    c_ = std::make_unique<Cluster>();
    c_->Init();
    researcher_ = c_->AddUser("researcher", "researcher");
    approver_ = c_->AddUser("approver", "approver");
    admin_ = c_->AddUser("admin", "admin");
  }
  void TearDown() override {
    c_.reset();
    ::unsetenv("KRING_COORDINATOR_DATABASE");
  }
  // Submits and approves a query; its id.
  std::string Run() {
    auto q = c_->Submit(researcher_, kSpec);
    EXPECT_TRUE(q.ok()) << q.status();
    if (!q.ok()) return "";
    EXPECT_TRUE(c_->Approve(approver_, *q).ok());
    return q->ticket().query_id();
  }
  std::string ResultJson(const std::string& id) {
    v1::GetResultRequest req;
    req.set_query_id(id);
    req.set_format(v1::RESULT_FORMAT_JSON);
    v1::GetResultResponse resp;
    grpc::Status s = c_->Call(researcher_, "GetResult", req, &resp,
                              &v1::Coordinator::Stub::GetResult);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.body();
  }

  std::unique_ptr<PostgresCluster> pg_;
  std::string url_;
  std::unique_ptr<Cluster> c_;
  TestUser researcher_, approver_, admin_;
};

TEST_F(PostgresFlowTest, CoordinatorOnPostgresReleasesAQuery) {
  c_->StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/8);
  for (const char* s : {"S1", "S2", "S3"}) {
    c_->AddSchool(s, "GM0363", 10 + s[1], 150, approver_);
    c_->StartNode(s);
  }
  c_->WaitConnected(admin_, {"S1", "S2", "S3"});
  const std::string id = Run();
  v1::QueryInfo done = c_->WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  EXPECT_THAT(ResultJson(id), HasSubstr("\"cells\""));
  // The state is in PostgreSQL, not in a coordinator.db.
  EXPECT_FALSE(
      std::filesystem::exists(c_->coordinator_dir() + "/coordinator.db"));
  auto raw = storage::Database::OpenPostgres(url_, storage::OpenOptions{});
  ASSERT_TRUE(raw.ok()) << raw.status();
  auto st = (*raw)->Prepare("SELECT COUNT(*) FROM ledger");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->Step().value_or(false));
  EXPECT_EQ(st->Int(0), 1);
  auto verify =
      Command(std::string(KRING_COORDINATOR_BINARY) +
              " audit --verify --data-dir '" + c_->coordinator_dir() + "'");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  // --database wins over KRING_COORDINATOR_DATABASE; no password is shown.
  auto other = Command(std::string(KRING_COORDINATOR_BINARY) +
                       " audit --data-dir '" + c_->coordinator_dir() +
                       "' --database postgresql://kring:s3cret@127.0.0.1:1/k");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.out, HasSubstr("kring:***@127.0.0.1:1/k"));
  EXPECT_THAT(other.out, ::testing::Not(HasSubstr("s3cret")));
}

// A port that was free a moment ago on 127.0.0.1 (the standby binds it
// only once it is active).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Gives school `name`'s node both coordinator addresses (node.yaml's
// `coordinator:` as a list).
void GiveBothAddresses(Cluster& c, const std::string& name,
                       const std::string& active, const std::string& standby) {
  const auto yaml = std::filesystem::path(c.SchoolDir(name)) / "node.yaml";
  const std::string text = ReadAll(yaml);
  const std::string line = "coordinator: " + active;
  const size_t at = text.find(line);
  ASSERT_NE(at, std::string::npos) << text;
  std::string out = text;
  out.replace(at, line.size(),
              "coordinator: [" + active + ", " + standby + "]");
  std::ofstream(yaml, std::ios::trunc) << out;
}

// The active coordinator is killed (SIGKILL, by school S4's test hook
// right after S4 answered `stage` of a run: its decision or a
// secure-aggregation round); the standby on the same database takes over.
class PostgresFailoverTest : public PostgresFlowTest,
                             public ::testing::WithParamInterface<std::string> {
 protected:
  // Starts the standby (its own data directory with the shared audit.key)
  // on `address_`, and waits until it says it is the standby.
  void StartStandby() {
    standby_dir_ = c_->dir() / "coord-standby";
    std::filesystem::create_directories(standby_dir_);
    ::chmod(standby_dir_.c_str(), 0700);
    std::filesystem::copy_file(
        std::filesystem::path(c_->coordinator_dir()) / "audit.key",
        standby_dir_ / "audit.key");
    address_ = "127.0.0.1:" + std::to_string(FreePort());
    port_file_ = c_->dir() / "standby.port";
    log_ = c_->dir() / "standby.log";
    process_ = std::make_unique<Process>(
        std::vector<std::string>{
            KRING_COORDINATOR_BINARY, "serve", "--data-dir",
            standby_dir_.string(), "--listen", address_, "--insecure-loopback",
            "--port-file", port_file_.string(), "--decision-seconds", "60",
            "--round-seconds", "8", "--failover-poll-seconds", "0.2"},
        log_);
    ASSERT_TRUE(WaitUntil(
        [&] { return ReadAll(log_).find("standby") != std::string::npos; },
        std::chrono::seconds(30)))
        << ReadAll(log_);
    EXPECT_FALSE(std::filesystem::exists(port_file_));
  }

  std::filesystem::path standby_dir_, port_file_, log_;
  std::string address_;
  std::unique_ptr<Process> process_;
};

TEST_P(PostgresFailoverTest, StandbyTakesOverWhenTheActiveIsKilledMidRun) {
  const std::string stage = GetParam();
  c_->StartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/8);
  const std::string active = c_->address();
  StartStandby();
  const std::vector<std::string> all = {"S1", "S2", "S3", "S4"};
  for (const std::string& s : all) {
    c_->AddSchool(s, "GM0363", 20 + s[1], 150, approver_);
    GiveBothAddresses(*c_, s, active, address_);
    c_->StartNode(s);
  }
  c_->WaitConnected(admin_, all);
  // Released before the failover.
  const std::string released = Run();
  v1::QueryInfo first = c_->WaitDone(researcher_, released);
  ASSERT_EQ(first.state(), v1::QUERY_STATE_RELEASED) << first.reason();
  const std::string released_json = ResultJson(released);
  // Submitted, not approved yet.
  auto waiting = c_->Submit(researcher_, kSpec);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  // S4 kills the active coordinator in the middle of the next run.
  c_->StopNode("S4");
  c_->StartFaultyNode("S4", {"--sigkill-after", stage, "--sigkill-pid",
                             std::to_string(c_->coordinator_pid())});
  c_->WaitConnected(admin_, all);
  const std::string running = Run();
  ASSERT_TRUE(WaitUntil([&] { return c_->CoordinatorExited(); },
                        std::chrono::seconds(60)))
      << "S4 did not kill the coordinator after " << stage;
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(port_file_); },
                        std::chrono::seconds(60)))
      << ReadAll(log_);
  std::cout << "failover: the standby served "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed_at)
                   .count()
            << " ms after the active coordinator died\n";
  EXPECT_THAT(ReadAll(log_), HasSubstr("active on"));
  c_->UseCoordinatorAt(address_);

  // The running query failed cleanly (killed right after S4's unmasking
  // shares, the sum may have been released first); nothing else was lost.
  v1::QueryInfo failed = c_->WaitDone(researcher_, running);
  if (failed.state() == v1::QUERY_STATE_RELEASED) {
    EXPECT_EQ(stage, "4") << "released without S4's round " << stage;
  } else {
    EXPECT_EQ(failed.state(), v1::QUERY_STATE_FAILED);
    EXPECT_THAT(failed.reason(), HasSubstr("restarted during the run"));
  }
  EXPECT_EQ(c_->Get(researcher_, released).state(), v1::QUERY_STATE_RELEASED);
  EXPECT_EQ(ResultJson(released), released_json);
  EXPECT_EQ(c_->Get(researcher_, waiting->ticket().query_id()).state(),
            v1::QUERY_STATE_AWAITING_APPROVAL);
  // The nodes found the standby; the query is re-run there and released.
  c_->StopNode("S4");
  c_->StartNode("S4");
  c_->WaitConnected(admin_, all);
  const std::string rerun = Run();
  v1::QueryInfo again = c_->WaitDone(researcher_, rerun);
  ASSERT_EQ(again.state(), v1::QUERY_STATE_RELEASED) << again.reason();
  EXPECT_EQ(again.participants(), 4u);
  // One audit log across both coordinators, and it verifies.
  auto verify =
      Command(std::string(KRING_COORDINATOR_BINARY) +
              " audit --verify --data-dir '" + standby_dir_.string() + "'");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

INSTANTIATE_TEST_SUITE_P(Stages, PostgresFailoverTest,
                         ::testing::Values("decision", "0", "1", "2", "3", "4"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param == "decision"
                                      ? "AfterDecision"
                                      : "AfterRound" + i.param;
                         });

}  // namespace
}  // namespace kring::testing
