// A full disk, with real processes: during an import, at a school node
// during a run, and at the coordinator during a run. A process's disk is
// made full with a file size limit (RLIMIT_FSIZE, set with prlimit(2) on
// the running process or `ulimit -f` before exec; the test processes
// ignore SIGXFSZ, so writes fail as on a full disk), and for the import
// also with a small tmpfs where the machine lets the test mount one.

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/cluster.h"

namespace kring::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSpec = R"({
  "statistic": "mean",
  "measures": ["belong_perception", "belong_opportunities"],
  "groupBy": ["track"],
  "population": {"waves": ["2025-26"]},
  "purpose": "disk full test"
})";

constexpr const char* kCountSpec = R"({"statistic": "count",
    "groupBy": ["gender"], "population": {"waves": ["2025-26"]},
    "purpose": "disk full test"})";

// What a process that could not write says, whichever way the disk filled.
const auto kDiskFull =
    AnyOf(HasSubstr("the disk is full"), HasSubstr("could not write"));

// Sets the (soft) file size limit of process `pid` (0: nothing can be
// written; RLIM_INFINITY lifts it). The hard limit stays as it is, so the
// test may lift the soft one again.
void LimitFileSize(pid_t pid, rlim_t bytes) {
  rlimit limit{};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, nullptr, &limit), 0);
  limit.rlim_cur = std::min(bytes, limit.rlim_max);
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0)
      << std::strerror(errno);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// --- import -------------------------------------------------------------

// How the disk fills: a file size limit, or a small tmpfs.
enum class Full { kFileSizeLimit, kTmpfs };

class ImportDiskFullTest : public ::testing::TestWithParam<Full> {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-diskfull-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    data_ = dir_ / "school";
    key_ = (dir_ / "school.key").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Node(const std::string& args,
                   const std::filesystem::path& data) const {
    return std::string(KRING_NODE_BINARY) + " " + args + " --data-dir " +
           Quote(data.string()) + " --key-file " + Quote(key_);
  }
  std::string Synth(int rows, int seed) const {
    const std::string csv =
        (dir_ / ("synth-" + std::to_string(seed) + ".csv")).string();
    auto r = Command(std::string(KRING_NODE_BINARY) + " synth --rows " +
                     std::to_string(rows) + " --seed " + std::to_string(seed) +
                     " --out " + Quote(csv));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return csv;
  }
  size_t Count(const std::filesystem::path& data) const {
    auto store = node::Store::Open(data, node::KeySource::KeyFile(key_));
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    auto n = store->Count();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  std::filesystem::path dir_, data_;
  std::string key_;
};

// An import that runs out of disk fails, says so, and stores nothing of
// the file: the store stays readable with what it had, its audit log
// verifies and names no such import, and the same file imports once there
// is room.
TEST_P(ImportDiskFullTest, FailsClearlyAndStoresNothing) {
  ASSERT_EQ(Command(Node("init", data_)).exit_code, 0);
  auto r = Command(Node("import " + Quote(Synth(20, 1)), data_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(Count(data_), 20u);
  const std::string big = Synth(5000, 2);

  // The import, run by a script: $1 the store, $2 the file.
  const std::string import = std::string(KRING_NODE_BINARY) +
                             " import \"$2\" --data-dir \"$1\" --key-file " +
                             Quote(key_);
  const std::string script = (dir_ / "import.sh").string();
  std::filesystem::path after = data_;  // the store after the failed import
  if (GetParam() == Full::kFileSizeLimit) {
    // 256 KiB per file: room to open the store (its shared-memory index is
    // 32 KiB), not for 5000 sealed records.
    std::ofstream(script) << "trap '' XFSZ\nulimit -f 512\nexec " << import
                          << "\n";
    r = Command("sh " + Quote(script) + " " + Quote(data_.string()) + " " +
                Quote(big));
  } else {
    if (Command("unshare -rm true").exit_code != 0) {
      GTEST_SKIP() << "this user may not mount a tmpfs (unshare -rm)";
    }
    // A tmpfs with 256 KiB to spare, in a mount namespace of its own; the
    // store ($3) is copied in, imported into, and copied out ($4) to be
    // checked.
    uintmax_t used = 0;
    for (const auto& e : std::filesystem::directory_iterator(data_)) {
      if (e.is_regular_file()) used += e.file_size();
    }
    const std::filesystem::path mnt = dir_ / "mnt";
    after = dir_ / "after";
    std::filesystem::create_directories(mnt);
    std::ofstream(script) << "set -e\nmount -t tmpfs -o size="
                          << used / 1024 + 64 + 256 << "k tmpfs \"$1\"\n"
                          << "cp -a \"$3\"/. \"$1\"/\nset +e\n"
                          << import
                          << "\nrc=$?\ncp -a \"$1\" \"$4\"\nexit $rc\n";
    r = Command("unshare -rm sh " + Quote(script) + " " + Quote(mnt.string()) +
                " " + Quote(big) + " " + Quote(data_.string()) + " " +
                Quote(after.string()));
  }
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, kDiskFull);
  EXPECT_THAT(r.out, Not(HasSubstr("Imported")));

  EXPECT_EQ(Count(after), 20u);
  auto audit = Command(Node("audit", after));
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out, HasSubstr("Imported 20 records"));
  EXPECT_THAT(audit.out, Not(HasSubstr("Imported 5000")));
  // With room again, the same file imports.
  r = Command(Node("import " + Quote(big), after));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Count(after), 5020u);
}

INSTANTIATE_TEST_SUITE_P(Ways, ImportDiskFullTest,
                         ::testing::Values(Full::kFileSizeLimit, Full::kTmpfs),
                         [](const ::testing::TestParamInfo<Full>& i) {
                           return i.param == Full::kTmpfs ? "Tmpfs"
                                                          : "FileSizeLimit";
                         });

// --- runs ---------------------------------------------------------------

// The events the coordinator lists for a school.
std::string Events(Cluster& c, const TestUser& admin,
                   const std::string& school) {
  v1::ListNodesResponse resp;
  EXPECT_TRUE(c.Call(admin, "ListNodes", v1::ListNodesRequest(), &resp,
                     &v1::Coordinator::Stub::ListNodes)
                  .ok());
  std::string out;
  for (const v1::NodeInfo& n : resp.nodes()) {
    if (n.brin() != school) continue;
    for (const v1::NodeEvent& e : n.events()) out += e.what() + "\n";
  }
  return out;
}

class RunDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.Init();
    researcher_ = c_.AddUser("researcher", "researcher");
    approver_ = c_.AddUser("approver", "approver");
    admin_ = c_.AddUser("admin", "admin");
  }
  // `n` enrolled schools S1..Sn; none running.
  void Schools(int n, double decision_seconds = 60) {
    c_.StartCoordinator(decision_seconds, /*round_seconds=*/4);
    for (int i = 1; i <= n; ++i) {
      c_.AddSchool("S" + std::to_string(i), i % 2 ? "GM0363" : "GM0599",
                   200 + i, 150, approver_);
    }
  }
  void Start(const std::vector<std::string>& names) {
    for (const std::string& name : names) c_.StartNode(name);
    c_.WaitConnected(admin_, names);
  }
  v1::QueryInfo SubmitApproved(const std::string& spec) {
    auto q = c_.Submit(researcher_, spec);
    EXPECT_TRUE(q.ok()) << q.status();
    EXPECT_TRUE(c_.Approve(approver_, *q).ok());
    return *q;
  }
  Cluster c_;
  TestUser researcher_, approver_, admin_;
};

// A school whose disk is full declines the task (it takes part in nothing
// it cannot record); the coordinator lists why, the others' release goes
// ahead, and once the school can write again it takes part.
TEST_F(RunDiskFullTest, NodeThatCannotWriteDeclines) {
  Schools(4);
  Start({"S1", "S2", "S3", "S4"});
  LimitFileSize(c_.node_pid("S4"), 0);
  v1::QueryInfo q = SubmitApproved(kSpec);
  const std::string id = q.ticket().query_id();
  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  std::string why;
  for (const auto& d : done.decisions()) {
    if (d.school_id().starts_with("S4")) {
      EXPECT_FALSE(d.accepted());
      why = d.reason();
    }
  }
  EXPECT_THAT(why, HasSubstr("cannot write its audit log"));
  EXPECT_THAT(Events(c_, admin_, "S4"),
              HasSubstr("not in query " + id + ": this school cannot write"));

  LimitFileSize(c_.node_pid("S4"), RLIM_INFINITY);
  v1::QueryInfo next = SubmitApproved(kCountSpec);
  v1::QueryInfo done2 = c_.WaitDone(researcher_, next.ticket().query_id());
  ASSERT_EQ(done2.state(), v1::QUERY_STATE_RELEASED) << done2.reason();
  EXPECT_EQ(done2.participants(), 4u);
  auto audit = Audit(c_, "S4");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out,
              HasSubstr("Accepted query " + next.ticket().query_id()));
}

// A school that accepted, then finds its disk full when it must record its
// contribution, aborts before anything leaves it: its budget is not
// charged, the coordinator records why it dropped out and releases the
// sum of the others.
TEST_F(RunDiskFullTest, NodeThatCannotWriteMidRunAborts) {
  // S5 stays offline, so the decision window stays open until it closes.
  Schools(5, /*decision_seconds=*/6);
  Start({"S1", "S2", "S3", "S4"});
  v1::QueryInfo q = SubmitApproved(kSpec);
  const std::string id = q.ticket().query_id();
  ASSERT_TRUE(WaitForAudit(c_, "S4", "Accepted query " + id));
  LimitFileSize(c_.node_pid("S4"), 0);
  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_RELEASED) << done.reason();
  EXPECT_EQ(done.participants(), 3u);
  CommandResult log = CoordinatorAudit(c_);
  EXPECT_THAT(log.out,
              HasSubstr("aborted in round 2 (the school could not record its "
                        "contribution before sending it)"));
  EXPECT_THAT(Events(c_, admin_, "S4"),
              HasSubstr("accepted, then dropped out"));
  LimitFileSize(c_.node_pid("S4"), RLIM_INFINITY);
  CommandResult budget =
      Command(std::string(KRING_NODE_BINARY) + " budget --json --data-dir '" +
              c_.SchoolDir("S4") + "' --key-file '" + c_.SchoolKey("S4") + "'");
  ASSERT_EQ(budget.exit_code, 0) << budget.out;
  EXPECT_EQ(nlohmann::json::parse(budget.out)["spent"].size(), 0u)
      << budget.out;
  CommandResult audit = Audit(c_, "S4");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_THAT(audit.out, Not(HasSubstr("Sent the masked contribution")));
}

// The coordinator's disk fills during a run: the query fails with a reason
// that says so (no result), while the coordinator keeps answering reads
// and refuses new submissions clearly. Once it can write again the failure
// is stored (it survives a restart as it was, not as "restarted"), the
// audit log verifies, and a re-submitted query is released.
TEST_F(RunDiskFullTest, CoordinatorThatCannotWriteFailsTheQueryCleanly) {
  Schools(3);
  const std::string yaml = c_.SchoolDir("S3") + "/node.yaml";
  ASSERT_EQ(Command("sed -i 's/manual_accept: false/manual_accept: true/' '" +
                    yaml + "'")
                .exit_code,
            0);
  Start({"S1", "S2", "S3"});
  v1::QueryInfo q = SubmitApproved(kSpec);
  const std::string id = q.ticket().query_id();
  const std::string node = std::string(KRING_NODE_BINARY);
  const std::string s3 = " --data-dir '" + c_.SchoolDir("S3") + "'";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Command(node + " pending" + s3).out.find(id) !=
               std::string::npos;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));
  const pid_t coordinator = c_.coordinator_pid();
  LimitFileSize(coordinator, 0);
  ASSERT_EQ(Command(node + " accept " + id + s3).exit_code, 0);

  v1::QueryInfo done = c_.WaitDone(researcher_, id);
  ASSERT_EQ(done.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(done.reason(), kDiskFull);
  // Still serving: lists and results answer, submissions are refused.
  v1::ListQueriesResponse list;
  ASSERT_TRUE(c_.Call(researcher_, "ListQueries", v1::ListQueriesRequest(),
                      &list, &v1::Coordinator::Stub::ListQueries)
                  .ok());
  ASSERT_EQ(list.queries_size(), 1);
  EXPECT_EQ(list.queries(0).state(), v1::QUERY_STATE_FAILED);
  v1::GetResultRequest get;
  get.set_query_id(id);
  v1::GetResultResponse result;
  grpc::Status no_result = c_.Call(researcher_, "GetResult", get, &result,
                                   &v1::Coordinator::Stub::GetResult);
  EXPECT_EQ(no_result.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(no_result.error_message(), kDiskFull);
  auto refused = c_.Submit(researcher_, kCountSpec);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), kDiskFull);
  // The schools heard that it failed.
  EXPECT_TRUE(WaitForAudit(c_, "S1", "Query " + id + " failed"));

  LimitFileSize(coordinator, RLIM_INFINITY);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return CoordinatorAudit(c_).out.find("query " + id + " failed") !=
               std::string::npos;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));
  ASSERT_EQ(kill(coordinator, SIGKILL), 0);
  c_.RestartCoordinator(/*decision_seconds=*/60, /*round_seconds=*/4);
  v1::QueryInfo stored = c_.Get(researcher_, id);
  EXPECT_EQ(stored.state(), v1::QUERY_STATE_FAILED);
  EXPECT_THAT(stored.reason(), kDiskFull);
  EXPECT_THAT(stored.reason(), Not(HasSubstr("restarted")));
  CommandResult verify = CoordinatorAudit(c_, "--verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  c_.WaitConnected(admin_, {"S1", "S2", "S3"});
  v1::QueryInfo again = SubmitApproved(kSpec);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Command(node + " pending" + s3)
                   .out.find(again.ticket().query_id()) != std::string::npos;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));
  ASSERT_EQ(
      Command(node + " accept " + again.ticket().query_id() + s3).exit_code, 0);
  v1::QueryInfo released = c_.WaitDone(researcher_, again.ticket().query_id());
  ASSERT_EQ(released.state(), v1::QUERY_STATE_RELEASED) << released.reason();
  EXPECT_EQ(released.participants(), 3u);
}

}  // namespace
}  // namespace kring::testing
