// kring-bench e2e against real processes: kring-coordinator-bench and the
// benchmark's node processes release the same result with secure
// aggregation and with the plaintext sum; the plaintext switch exists only
// in the benchmark build of the coordinator, and real kring-node refuses
// its plaintext runs; a missing build is named.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "query/spec.h"
#include "tests/integration/cluster.h"
#include "tests/testing/wait.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = kring::v1;

struct CliRun {
  int exit_code;
  std::string out;  // stdout, and stderr unless `stderr_too` is false
};

// Runs `cmd` with the shell.
CliRun Shell(const std::string& cmd, bool stderr_too = true) {
  FILE* p = popen((cmd + (stderr_too ? " 2>&1" : "")).c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(BenchE2eTest, SecureAndPlaintextRunsBothRelease) {
  CliRun r =
      Shell(std::string(KRING_BENCH_BINARY) + " e2e --nodes 3 --repetitions 1",
            /*stderr_too=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_FALSE(j.contains("error")) << j.dump(2);
  EXPECT_EQ(j["nodes"], 3);
  // The secure release carries the schools' noise and says so.
  ASSERT_TRUE(j["secure_privacy"].is_object()) << j.dump(2);
  EXPECT_GT(j["secure_privacy"]["rho"].get<double>(), 0);
  EXPECT_GT(j["secure_ms_median"].get<double>(), 0);
  EXPECT_GT(j["plaintext_ms_median"].get<double>(), 0);
}

TEST(BenchE2eTest, NamesAMissingCoordinatorBuild) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kring-bench-XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  // kring-bench alone, without kring-coordinator-bench next to it.
  std::filesystem::copy_file(KRING_BENCH_BINARY, dir / "kring-bench");
  std::filesystem::permissions(dir / "kring-bench",
                               std::filesystem::perms::owner_all);
  CliRun r = Shell((dir / "kring-bench").string() + " e2e --nodes 3",
                   /*stderr_too=*/false);
  std::filesystem::remove_all(dir);
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.contains("error")) << j.dump(2);
  EXPECT_THAT(j["error"].get<std::string>(),
              HasSubstr("kring-coordinator-bench not found"));
}

TEST(BenchE2eTest, OnlyTheBenchBuildOfTheCoordinatorServesPlaintextRuns) {
  CliRun shipped =
      Shell(std::string(KRING_SHIPPED_COORDINATOR_BINARY) + " serve --help");
  EXPECT_EQ(shipped.exit_code, 0);
  EXPECT_THAT(shipped.out, Not(HasSubstr("plaintext sum")));
  EXPECT_THAT(shipped.out, Not(HasSubstr("--benchmark-plaintext")));
  EXPECT_EQ(Shell(std::string(KRING_SHIPPED_COORDINATOR_BINARY) +
                  " serve --benchmark-plaintext")
                .exit_code,
            2);

  CliRun bench = Shell(std::string(KRING_COORDINATOR_BINARY) + " --help");
  EXPECT_EQ(bench.exit_code, 0);
  EXPECT_THAT(bench.out, HasSubstr("kring-bench e2e"));
  EXPECT_THAT(bench.out, HasSubstr("kring-node refuses"));
  CliRun serve = Shell(std::string(KRING_COORDINATOR_BINARY) + " serve --help");
  EXPECT_EQ(serve.exit_code, 0);
  EXPECT_THAT(serve.out, HasSubstr("--benchmark-plaintext"));
}

constexpr const char* kSpec = R"({
  "statistic": "mean",
  "measures": ["belong_perception"],
  "groupBy": ["track"],
  "population": {"waves": ["2025-26"]},
  "purpose": "kring-coordinator-bench test"
})";

// Submits kSpec as `researcher`, approves it as `approver` and returns the
// query once it is released, failed or rejected.
v1::QueryInfo RunQuery(kring::testing::Cluster& c,
                       const kring::testing::TestUser& researcher,
                       const kring::testing::TestUser& approver) {
  using Stub = v1::Coordinator::Stub;
  v1::SubmitQueryRequest submit;
  *submit.mutable_spec() = *kring::query::ParseQuerySpecJson(kSpec);
  v1::SubmitQueryResponse submitted;
  EXPECT_TRUE(
      c.Call(researcher, "SubmitQuery", submit, &submitted, &Stub::SubmitQuery)
          .ok());
  v1::ApproveQueryRequest approve;
  approve.set_query_id(submitted.query().ticket().query_id());
  approve.set_signature(*approver.key->Sign(kring::api::kApprovalContext,
                                            submitted.query().ticket_bytes()));
  v1::QueryResponse approved;
  EXPECT_TRUE(
      c.Call(approver, "ApproveQuery", approve, &approved, &Stub::ApproveQuery)
          .ok());
  v1::GetQueryRequest get;
  get.set_query_id(approve.query_id());
  v1::GetQueryResponse got;
  EXPECT_TRUE(kring::testing::WaitUntil(
      [&] {
        return c.Call(researcher, "GetQuery", get, &got, &Stub::GetQuery)
                   .ok() &&
               (got.query().state() == v1::QUERY_STATE_RELEASED ||
                got.query().state() == v1::QUERY_STATE_FAILED ||
                got.query().state() == v1::QUERY_STATE_REJECTED);
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)));
  return got.query();
}

// Waits until the coordinator lists `count` schools as connected.
bool WaitConnected(kring::testing::Cluster& c,
                   const kring::testing::TestUser& admin, int count) {
  return kring::testing::WaitUntil(
      [&] {
        v1::ListNodesResponse nodes;
        if (!c.Call(admin, "ListNodes", v1::ListNodesRequest(), &nodes,
                    &v1::Coordinator::Stub::ListNodes)
                 .ok()) {
          return false;
        }
        int connected = 0;
        for (const v1::NodeInfo& n : nodes.nodes()) connected += n.connected();
        return connected == count;
      },
      std::chrono::seconds(30));
}

// Real kring-node processes behind kring-coordinator-bench serve
// --benchmark-plaintext: the query fails, because kring-node refuses to
// send its vector in the clear (and says so in its audit log).
TEST(BenchE2eTest, RealNodesRefuseTheBenchCoordinatorsPlaintextRuns) {
  kring::testing::Cluster c;  // KRING_COORDINATOR_BINARY: the bench build
  c.Init();
  auto researcher = c.AddUser("researcher", "researcher");
  auto approver = c.AddUser("approver", "approver");
  auto admin = c.AddUser("admin", "admin");
  c.StartCoordinator(60, 1, {"--benchmark-plaintext"});
  const std::vector<std::string> schools = {"S1", "S2", "S3"};
  for (size_t i = 0; i < schools.size(); ++i) {
    c.AddSchool(schools[i], "GM0363", static_cast<int>(i) + 1, 40, approver);
    c.StartNode(schools[i]);
  }
  ASSERT_TRUE(WaitConnected(c, admin, 3)) << "see the logs in " << c.dir();
  const v1::QueryInfo q = RunQuery(c, researcher, approver);
  EXPECT_EQ(q.state(), v1::QUERY_STATE_FAILED);
  EXPECT_EQ(q.participants(), 0u);
  for (const std::string& school : schools) {
    auto audit = kring::testing::Command(
        std::string(KRING_NODE_BINARY) + " audit --data-dir '" +
        c.SchoolDir(school) + "' --key-file '" + c.SchoolKey(school) + "'");
    EXPECT_THAT(audit.out, HasSubstr("in the clear")) << school;
  }
}

}  // namespace
