#include "bench/e2e_bench.h"

#include <sched.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "api/auth.h"
#include "api/channel.h"
#include "api/status.h"
#include "bench/bench_util.h"
#include "bench/child.h"
#include "client/connection.h"
#include "node/agent.h"
#include "node/audit.h"
#include "node/importer.h"
#include "node/synth.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::bench {
namespace {

using Stub = v1::Coordinator::Stub;

constexpr const char* kSpec = R"({
  "statistic": "mean",
  "measures": ["belong_perception", "belong_competencies",
               "belong_opportunities", "belong_motivation"],
  "groupBy": ["track", "gender"],
  "population": {"waves": ["2025-26"]},
  "purpose": "kring-bench e2e"
})";

constexpr const char* kCoordinatorBinary = "kring-coordinator-bench";
constexpr std::string_view kAuditPurpose = "audit-log-v1";
const char* kMunicipalities[] = {"GM0363", "GM0599", "GM0344"};
// How often the benchmark asks for a query's state while it runs: the
// resolution of the measured latency.
constexpr std::chrono::milliseconds kPoll{5};
constexpr std::chrono::seconds kStartDeadline{60};
constexpr std::chrono::minutes kQueryDeadline{5};

// CPU time (user + system) used so far by the processes `pids`, in
// milliseconds; a process that has exited is left out.
double CpuMs(const std::vector<pid_t>& pids) {
  const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  double ms = 0;
  for (pid_t p : pids) {
    std::ifstream in(StrCat("/proc/", p, "/stat"));
    std::string line;
    std::getline(in, line);
    // Fields after the command name, which is in parentheses: state is
    // field 3, utime field 14, stime field 15.
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 > line.size()) continue;
    std::istringstream rest(line.substr(paren + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    ms += static_cast<double>(utime + stime) * tick_ms;
  }
  return ms;
}

// Polls `condition` every `poll` until it holds (true) or `deadline` has
// passed (false).
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::milliseconds deadline,
               std::chrono::milliseconds poll) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return condition();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// A user of the benchmark: registered offline with `add-user`, then
// making signed calls over gRPC.
struct BenchUser {
  std::string id;
  std::string role;
  std::filesystem::path key_file;
  std::optional<client::Connection> connection;
};

// One e2e benchmark: a kring-coordinator-bench process and one node
// process per school (this binary's `e2e-node`), all on loopback, with
// their files and logs under `dir`. The coordinator runs in one mode at a
// time (secure or plaintext) and is restarted, on the same port and data,
// to change it; the nodes reconnect.
class E2eRun {
 public:
  E2eRun(const E2eBenchOptions& o, std::filesystem::path dir,
         std::filesystem::path coordinator, std::string self)
      : o_(o),
        dir_(std::move(dir)),
        coordinator_binary_(std::move(coordinator)),
        self_(std::move(self)) {}

  // `init`, the users and one enrollment code per school, all offline.
  absl::Status Setup();
  // Starts the coordinator in `plaintext` mode or secure mode (stopping
  // it first if it runs in the other), and waits until every node that
  // was started is connected.
  absl::Status Serve(bool plaintext);
  // Every school: a store of synthetic pupils, enrollment over gRPC,
  // node.yaml, and its node process.
  absl::Status StartSchools();
  // One query from approval to release in the coordinator's current mode,
  // recorded; after a (re)start of the coordinator, one unrecorded query
  // first, so that every recorded run finds it warm, as in service.
  absl::Status Measure();
  // Stops the node processes and the coordinator.
  void Stop();
  // The figures as the benchmark's JSON.
  nlohmann::json Report() const;

 private:
  absl::StatusOr<std::string> Coordinator(std::vector<std::string> args);
  absl::Status AddUser(BenchUser& user);
  absl::Status StartSchool(int i);
  absl::Status StartCoordinator(bool plaintext);
  absl::Status WaitForNodes();
  absl::StatusOr<v1::QueryInfo> WaitDone(const std::string& id);
  // A query's latency from approval to release, the CPU time of every
  // process meanwhile, and the released result (JSON).
  struct Timed {
    double ms = 0;
    double cpu_ms = 0;
    std::string result;
  };
  // Submits, approves and waits for the release of one query.
  absl::StatusOr<Timed> RunQuery();
  std::vector<pid_t> Pids() const;
  void Note(const std::string& text) const {
    if (o_.progress) std::cerr << "kring-bench e2e: " << text << "\n";
  }

  const E2eBenchOptions& o_;
  const std::filesystem::path dir_;
  const std::filesystem::path coordinator_binary_;
  const std::string self_;
  BenchUser admin_{"bench-admin", "admin", {}, {}};
  BenchUser researcher_{"bench-researcher", "researcher", {}, {}};
  BenchUser approver_{"bench-approver", "approver", {}, {}};
  std::vector<std::string> codes_;  // one per school
  std::optional<Child> coordinator_;
  bool plaintext_ = false;  // the running coordinator's mode
  bool warm_ = false;       // it has run a query since it started
  int port_ = 0;
  std::vector<Child> nodes_;
  std::vector<double> secure_ms_, plain_ms_, secure_cpu_ms_, plain_cpu_ms_;
  std::string secure_result_, plain_result_;
};

absl::StatusOr<std::string> E2eRun::Coordinator(std::vector<std::string> args) {
  args.insert(args.begin(), coordinator_binary_.string());
  args.insert(args.begin() + 2,
              {"--data-dir", (dir_ / "coordinator").string()});
  return RunCommand(args, dir_ / "coordinator.log");
}

absl::Status E2eRun::AddUser(BenchUser& user) {
  crypto::IdentityKeyPair key = crypto::IdentityKeyPair::Generate();
  user.key_file = dir_ / StrCat(user.id, ".key");
  const auto pub = dir_ / StrCat(user.id, ".pub");
  KRING_RETURN_IF_ERROR(key.SavePrivateKeyFile(user.key_file));
  KRING_RETURN_IF_ERROR(key.public_key().SaveFile(pub));
  return Coordinator({"add-user", "--id", user.id, "--role", user.role,
                      "--public-key", pub.string()})
      .status();
}

absl::Status E2eRun::Setup() {
  KRING_RETURN_IF_ERROR(Coordinator({"init"}).status());
  for (BenchUser* u : {&admin_, &researcher_, &approver_}) {
    KRING_RETURN_IF_ERROR(AddUser(*u));
  }
  for (int i = 0; i < o_.nodes; ++i) {
    KRING_ASSIGN_OR_RETURN(
        std::string out,
        Coordinator({"enroll-code", "--brin", StrCat("B", i), "--name",
                     StrCat("Bench school ", i), "--municipality",
                     kMunicipalities[i % 3]}));
    codes_.push_back(out.substr(0, out.find('\n')));
  }
  return absl::OkStatus();
}

absl::Status E2eRun::StartCoordinator(bool plaintext) {
  const auto port_file = dir_ / "coordinator.port";
  std::filesystem::remove(port_file);
  std::vector<std::string> argv = {coordinator_binary_.string(),
                                   "serve",
                                   "--data-dir",
                                   (dir_ / "coordinator").string(),
                                   "--listen",
                                   StrCat("127.0.0.1:", port_),
                                   "--insecure-loopback",
                                   "--port-file",
                                   port_file.string(),
                                   "--decision-seconds",
                                   "120",
                                   "--round-seconds",
                                   "120",
                                   "--requests-per-second",
                                   "1000000"};
  if (plaintext) argv.push_back("--benchmark-plaintext");
  KRING_ASSIGN_OR_RETURN(coordinator_,
                         Child::Start(argv, dir_ / "coordinator.log"));
  plaintext_ = plaintext;
  warm_ = false;
  // Started once it wrote its port and the newline after it.
  std::string line;
  WaitUntil(
      [&] {
        std::ifstream in(port_file);
        const bool whole = std::getline(in, line) && !in.eof();
        if (!whole) line.clear();
        return whole || coordinator_->Exited();
      },
      kStartDeadline, std::chrono::milliseconds(10));
  if (line.empty() || coordinator_->Exited()) {
    return absl::InternalError(StrCat(kCoordinatorBinary,
                                      " serve did not start; see ",
                                      (dir_ / "coordinator.log").string()));
  }
  port_ = std::stoi(line);
  return absl::OkStatus();
}

absl::Status E2eRun::Serve(bool plaintext) {
  if (coordinator_ && plaintext_ == plaintext) return absl::OkStatus();
  if (coordinator_) coordinator_->Stop(SIGTERM);
  KRING_RETURN_IF_ERROR(StartCoordinator(plaintext));
  api::ChannelOptions channel;
  channel.address = StrCat("127.0.0.1:", port_);
  channel.insecure_loopback = true;
  for (BenchUser* u : {&admin_, &researcher_, &approver_}) {
    KRING_ASSIGN_OR_RETURN(
        auto key, crypto::IdentityKeyPair::LoadPrivateKeyFile(u->key_file));
    KRING_ASSIGN_OR_RETURN(u->connection, client::Connection::Open(
                                              channel, u->id, std::move(key)));
  }
  Note(StrCat(plaintext ? "plaintext" : "secure", " coordinator on port ",
              port_));
  return WaitForNodes();
}

absl::Status E2eRun::WaitForNodes() {
  size_t connected = 0;
  const bool all = WaitUntil(
      [&] {
        auto nodes =
            admin_.connection->Call(&Stub::ListNodes, v1::ListNodesRequest());
        connected = 0;
        if (nodes.ok()) {
          for (const auto& n : nodes->nodes()) connected += n.connected();
        }
        return connected == nodes_.size();
      },
      kStartDeadline, std::chrono::milliseconds(20));
  if (!all) {
    return absl::DeadlineExceededError(StrCat(
        "only ", connected, " of ", nodes_.size(),
        " nodes connected within a minute; see the logs in ", dir_.string()));
  }
  return absl::OkStatus();
}

// Enrolls `identity` with the one-time `code` at `address`.
absl::StatusOr<v1::EnrollResponse> Enroll(
    const std::string& address, const std::string& code,
    const crypto::IdentityKeyPair& identity) {
  api::ChannelOptions o;
  o.address = address;
  o.insecure_loopback = true;
  KRING_ASSIGN_OR_RETURN(auto channel, api::MakeChannel(o));
  auto stub = v1::Coordinator::NewStub(channel);
  v1::EnrollRequest request;
  request.set_code(code);
  request.set_identity_public_key(std::string(identity.public_key().bytes()));
  request.set_version("kring-bench e2e-node");
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::Status s = stub->Enroll(&context, request, &response);
  if (!s.ok()) return api::FromGrpcStatus(s, address, o.names);
  return response;
}

absl::Status E2eRun::StartSchool(int i) {
  const auto data = dir_ / StrCat("school-", i);
  const auto key = dir_ / StrCat("school-", i, ".key");
  KRING_ASSIGN_OR_RETURN(
      node::Store store,
      node::Store::Init(data, node::KeySource::KeyFile(key), {}));
  node::SynthOptions synth;
  synth.rows = o_.rows;
  synth.seed = 1000 + static_cast<uint64_t>(i);
  const survey::Instrument& instrument = survey::Instrument::BelongingV1();
  KRING_ASSIGN_OR_RETURN(
      auto imported,
      node::ImportExport(store, node::SynthesizeExport(instrument, synth),
                         instrument, {}, false));
  if (!imported.parsed.problems.empty()) {
    return absl::InternalError("the synthetic export has problems");
  }
  auto identity = crypto::IdentityKeyPair::Generate();
  node::NodeConfig config;
  KRING_RETURN_IF_ERROR(
      identity.SavePrivateKeyFile(data / config.identity_key));
  config.coordinator = StrCat("127.0.0.1:", port_);
  config.insecure_loopback = true;
  KRING_ASSIGN_OR_RETURN(v1::EnrollResponse enrolled,
                         Enroll(config.coordinator, codes_[i], identity));
  config.school_id = enrolled.school_id();
  config.municipality = enrolled.municipality();
  KRING_ASSIGN_OR_RETURN(
      auto approver,
      crypto::IdentityKeyPair::LoadPrivateKeyFile(approver_.key_file));
  config.approvers.push_back(approver.public_key());
  // The benchmark repeats one query many times over the same synthetic
  // pupils: a budget no real school would set, so that none runs out.
  config.policy.privacy_budget_per_wave = 1e6;
  std::ofstream(data / "node.yaml") << config.ToYaml();
  KRING_ASSIGN_OR_RETURN(
      Child node, Child::Start({self_, "e2e-node", "--data-dir", data.string(),
                                "--key-file", key.string()},
                               dir_ / StrCat("school-", i, ".log")));
  nodes_.push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status E2eRun::StartSchools() {
  for (int i = 0; i < o_.nodes; ++i) {
    KRING_RETURN_IF_ERROR(StartSchool(i));
  }
  Note(StrCat(o_.nodes, " node processes started"));
  return WaitForNodes();
}

std::vector<pid_t> E2eRun::Pids() const {
  std::vector<pid_t> pids = {coordinator_->pid()};
  for (const Child& n : nodes_) pids.push_back(n.pid());
  return pids;
}

absl::StatusOr<v1::QueryInfo> E2eRun::WaitDone(const std::string& id) {
  v1::GetQueryRequest get;
  get.set_query_id(id);
  absl::StatusOr<v1::GetQueryResponse> last;
  WaitUntil(
      [&] {
        last = researcher_.connection->Call(&Stub::GetQuery, get);
        if (!last.ok()) return true;
        const v1::QueryState s = last->query().state();
        return s == v1::QUERY_STATE_RELEASED || s == v1::QUERY_STATE_FAILED ||
               s == v1::QUERY_STATE_REJECTED;
      },
      kQueryDeadline, kPoll);
  if (!last.ok()) return last.status();
  return last->query();
}

absl::StatusOr<E2eRun::Timed> E2eRun::RunQuery() {
  KRING_ASSIGN_OR_RETURN(v1::QuerySpec spec, query::ParseQuerySpecJson(kSpec));
  v1::SubmitQueryRequest submit;
  *submit.mutable_spec() = spec;
  KRING_ASSIGN_OR_RETURN(
      auto submitted, researcher_.connection->Call(&Stub::SubmitQuery, submit));
  const v1::QueryInfo& q = submitted.query();
  v1::ApproveQueryRequest approve;
  approve.set_query_id(q.ticket().query_id());
  KRING_ASSIGN_OR_RETURN(*approve.mutable_signature(),
                         approver_.connection->key().Sign(api::kApprovalContext,
                                                          q.ticket_bytes()));
  const double cpu0 = CpuMs(Pids());
  const auto t0 = std::chrono::steady_clock::now();
  KRING_RETURN_IF_ERROR(
      approver_.connection->Call(&Stub::ApproveQuery, approve).status());
  KRING_ASSIGN_OR_RETURN(v1::QueryInfo done, WaitDone(approve.query_id()));
  Timed out;
  out.ms = std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - t0)
               .count();
  out.cpu_ms = CpuMs(Pids()) - cpu0;
  if (done.state() != v1::QUERY_STATE_RELEASED ||
      done.participants() != static_cast<uint32_t>(o_.nodes)) {
    return absl::InternalError(
        StrCat("the ", plaintext_ ? "plaintext" : "secure",
               " run did not release with every node (",
               v1::QueryState_Name(done.state()), ", ", done.participants(),
               " of ", o_.nodes, " schools): ", done.reason()));
  }
  v1::GetResultRequest result;
  result.set_query_id(approve.query_id());
  result.set_format(v1::RESULT_FORMAT_JSON);
  KRING_ASSIGN_OR_RETURN(
      auto body, researcher_.connection->Call(&Stub::GetResult, result));
  out.result = body.body();
  return out;
}

absl::Status E2eRun::Measure() {
  const char* mode = plaintext_ ? "plaintext" : "secure";
  if (!warm_) {
    KRING_ASSIGN_OR_RETURN(Timed warm_up, RunQuery());
    Note(StrCat(mode, " warm-up ", warm_up.ms, " ms (not counted)"));
    warm_ = true;
  }
  KRING_ASSIGN_OR_RETURN(Timed t, RunQuery());
  (plaintext_ ? plain_ms_ : secure_ms_).push_back(t.ms);
  (plaintext_ ? plain_cpu_ms_ : secure_cpu_ms_).push_back(t.cpu_ms);
  (plaintext_ ? plain_result_ : secure_result_) = std::move(t.result);
  Note(StrCat(mode, " ", t.ms, " ms, ", t.cpu_ms, " ms CPU"));
  return absl::OkStatus();
}

void E2eRun::Stop() {
  for (Child& n : nodes_) n.Stop(SIGKILL);
  nodes_.clear();
  if (coordinator_) coordinator_->Stop(SIGTERM);
  coordinator_.reset();
}

nlohmann::json E2eRun::Report() const {
  nlohmann::json out;
  out["benchmark"] = "e2e";
  out["nodes"] = o_.nodes;
  out["rows_per_node"] = o_.rows;
  out["repetitions"] = o_.repetitions;
  out["secure_ms_median"] = Median(secure_ms_);
  out["plaintext_ms_median"] = Median(plain_ms_);
  out["ratio"] = Median(secure_ms_) / Median(plain_ms_);
  // On one machine every node shares its cores: a run cannot finish faster
  // than its CPU time divided by the cores.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  out["cores"] = sched_getaffinity(0, sizeof(allowed), &allowed) == 0
                     ? CPU_COUNT(&allowed)
                     : static_cast<int>(std::thread::hardware_concurrency());
  out["secure_cpu_ms_median"] = Median(secure_cpu_ms_);
  out["plaintext_cpu_ms_median"] = Median(plain_cpu_ms_);
  // Secure runs carry the schools' noise (as every kring release does);
  // the benchmark's plaintext sums carry none, so the two results differ
  // by that noise. The secure release states how much.
  const nlohmann::json secure =
      nlohmann::json::parse(secure_result_, nullptr, false);
  out["secure_privacy"] = secure.is_object() && secure.contains("privacy")
                              ? secure["privacy"]
                              : nlohmann::json(nullptr);
  out["note"] = StrCat(
      "latency from approval to release on loopback, seen by polling the "
      "query's state every ",
      kPoll.count(),
      " ms: every node decides, then secure aggregation (5 rounds, "
      "kring-coordinator-bench serve) or the benchmark-only plaintext sum "
      "(1 round, serve --benchmark-plaintext), the modes alternating and "
      "each coordinator start followed by one query not counted; decode, "
      "disclosure control and release included; cpu_ms is the CPU time of "
      "the coordinator process and all node processes during the run");
  return out;
}

// Sets up the coordinator and the schools, then runs the measurements,
// alternating the modes.
absl::Status RunAll(E2eRun& run, const E2eBenchOptions& o) {
  KRING_RETURN_IF_ERROR(run.Setup());
  KRING_RETURN_IF_ERROR(run.Serve(/*plaintext=*/false));
  KRING_RETURN_IF_ERROR(run.StartSchools());
  for (int rep = 0; rep < o.repetitions; ++rep) {
    for (bool plaintext : {false, true}) {
      KRING_RETURN_IF_ERROR(run.Serve(plaintext));
      KRING_RETURN_IF_ERROR(run.Measure());
    }
  }
  return absl::OkStatus();
}

}  // namespace

int RunE2eNode(const std::string& data_dir, const std::string& key_file) {
  auto store = node::Store::Open(data_dir, node::KeySource::KeyFile(key_file));
  if (!store.ok()) return 1;
  auto audit =
      node::AuditLog::Open(data_dir, store->DeriveSubkey(kAuditPurpose));
  if (!audit.ok()) return 1;
  auto config =
      node::NodeConfig::Load(std::filesystem::path(data_dir) / "node.yaml");
  if (!config.ok()) return 1;
  node::AgentOptions options;
  options.data_dir = data_dir;
  options.config = *config;
  // Only this benchmark sends a vector in the clear (kring-bench e2e
  // measures what secure aggregation costs); kring-node refuses.
  options.plaintext_sender = [](const std::string& query_id,
                                const std::vector<uint64_t>& contribution) {
    v1::NodeToCoordinator msg;
    msg.mutable_benchmark_plaintext()->set_query_id(query_id);
    for (uint64_t v : contribution) {
      msg.mutable_benchmark_plaintext()->add_values(v);
    }
    return msg;
  };
  auto agent = node::Agent::Create(std::move(options), &*store, &*audit);
  if (!agent.ok()) return 1;
  (*agent)->Run();  // until killed
  return 0;
}

nlohmann::json RunE2eBench(const E2eBenchOptions& o, const std::string& self) {
  auto coordinator = SiblingBinary(kCoordinatorBinary);
  if (!coordinator.ok()) {
    return {{"benchmark", "e2e"},
            {"error", std::string(ToStd(coordinator.status().message()))}};
  }
  char tmpl[] = "/tmp/kring-e2e-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return {{"error", "cannot create temp dir"}};
  const std::filesystem::path dir = tmpl;
  E2eRun run(o, dir, *coordinator, self);
  if (absl::Status s = RunAll(run, o); !s.ok()) {
    run.Stop();
    // The logs stay, for finding out what went wrong.
    return {{"benchmark", "e2e"},
            {"error", std::string(ToStd(s.message()))},
            {"logs", dir.string()}};
  }
  run.Stop();
  std::filesystem::remove_all(dir);
  return run.Report();
}

}  // namespace kring::bench
