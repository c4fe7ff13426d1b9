#include "bench/e2e_bench.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "api/auth.h"
#include "bench/bench_util.h"
#include "coordinator/db.h"
#include "coordinator/engine.h"
#include "coordinator/server.h"
#include "node/agent.h"
#include "node/audit.h"
#include "node/importer.h"
#include "node/synth.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "util/str_cat.h"

namespace kring::bench {
namespace {

constexpr const char* kSpec = R"({
  "statistic": "mean",
  "measures": ["belong_perception", "belong_competencies",
               "belong_opportunities", "belong_motivation"],
  "groupBy": ["track", "gender"],
  "population": {"waves": ["2025-26"]},
  "purpose": "kring-bench e2e"
})";

constexpr std::string_view kAuditPurpose = "audit-log-v1";
const char* kMunicipalities[] = {"GM0363", "GM0599", "GM0344"};

// CPU time (user + system) used so far by this process (the coordinator)
// and the node processes, in milliseconds.
double CpuMs(const std::vector<pid_t>& nodes) {
  const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  double ms = 0;
  for (pid_t p : nodes) {
    std::ifstream in(StrCat("/proc/", p, "/stat"));
    std::string line;
    std::getline(in, line);
    // Fields after the command name, which is in parentheses: state is
    // field 3, utime field 14, stime field 15. A node that has exited is
    // left out.
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
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto to_ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 +
           static_cast<double>(t.tv_usec) / 1000.0;
  };
  return ms + to_ms(self.ru_utime) + to_ms(self.ru_stime);
}

nlohmann::json Error(const std::filesystem::path& dir, std::string what) {
  std::filesystem::remove_all(dir);
  return {{"benchmark", "e2e"}, {"error", std::move(what)}};
}

absl::Status Failed(const std::string& what) {
  return absl::InternalError(what);
}

// One e2e benchmark: a coordinator in this process and one node process
// per school, all on loopback, with their files under `dir`. The node
// processes are killed when it ends.
class E2eRun {
 public:
  E2eRun(const E2eBenchOptions& o, std::filesystem::path dir)
      : o_(o),
        dir_(std::move(dir)),
        researcher_key_(crypto::IdentityKeyPair::Generate()),
        approver_key_(crypto::IdentityKeyPair::Generate()) {}
  ~E2eRun() { StopNodes(); }

  // The coordinator's engine and gRPC server, and the bench's users.
  absl::Status StartCoordinator();
  // School `i`: a store with synthetic pupils, enrollment, node.yaml, and
  // its node process (`self e2e-node`).
  absl::Status StartSchool(int i, const std::string& self);
  // Waits (up to a minute) until every node is connected.
  absl::Status WaitForNodes();
  // One query from submission to release, secure or plaintext, timed.
  absl::Status Measure(bool plaintext);
  // Kills and reaps the node processes.
  void StopNodes();
  // Stops the server; the figures stay.
  void StopServer() { server_.reset(); }
  // The figures as the benchmark's JSON.
  nlohmann::json Report() const;

 private:
  const E2eBenchOptions& o_;
  const std::filesystem::path dir_;
  std::unique_ptr<coordinator::Engine> engine_;
  std::unique_ptr<coordinator::Server> server_;  // stops before engine_
  std::string address_;
  const coordinator::User admin_{"bench-admin", v1::ROLE_ADMIN, {}, {}};
  crypto::IdentityKeyPair researcher_key_;
  crypto::IdentityKeyPair approver_key_;
  coordinator::User researcher_;
  coordinator::User approver_;
  std::vector<pid_t> pids_;
  std::vector<double> secure_ms_, plain_ms_, secure_cpu_ms_, plain_cpu_ms_;
  std::string secure_result_, plain_result_;
};

absl::Status E2eRun::StartCoordinator() {
  auto db = coordinator::CoordinatorDb::Open(dir_ / "coordinator", true);
  if (!db.ok()) return db.status();
  coordinator::EngineOptions eo;
  eo.decision_window = std::chrono::seconds(120);
  eo.round_deadline = std::chrono::seconds(120);
  auto engine = coordinator::Engine::Create(*std::move(db), eo);
  if (!engine.ok()) return Failed("cannot start the engine");
  engine_ = *std::move(engine);
  coordinator::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.insecure_loopback = true;
  so.requests_per_second = 1e6;
  so.burst = 1e6;
  auto server = coordinator::Server::Start(engine_.get(), so);
  if (!server.ok()) return Failed("cannot start the server");
  server_ = *std::move(server);
  address_ = StrCat("127.0.0.1:", server_->port());
  researcher_ = {"bench-researcher",
                 v1::ROLE_RESEARCHER,
                 std::string(researcher_key_.public_key().bytes()),
                 {}};
  approver_ = {"bench-approver",
               v1::ROLE_APPROVER,
               std::string(approver_key_.public_key().bytes()),
               {}};
  if (!engine_->RegisterUser(admin_, researcher_).ok() ||
      !engine_->RegisterUser(admin_, approver_).ok()) {
    return Failed("cannot register users");
  }
  return absl::OkStatus();
}

absl::Status E2eRun::StartSchool(int i, const std::string& self) {
  const auto data = dir_ / StrCat("school-", i);
  const auto key = dir_ / StrCat("school-", i, ".key");
  auto store = node::Store::Init(data, node::KeySource::KeyFile(key), {});
  if (!store.ok()) return Failed("cannot create a store");
  node::SynthOptions synth;
  synth.rows = o_.rows;
  synth.seed = 1000 + static_cast<uint64_t>(i);
  const std::string csv =
      node::SynthesizeExport(survey::Instrument::BelongingV1(), synth);
  auto imported = node::ImportExport(
      *store, csv, survey::Instrument::BelongingV1(), {}, false);
  if (!imported.ok() || !imported->parsed.problems.empty()) {
    return Failed("cannot import synthetic pupils");
  }
  auto identity = crypto::IdentityKeyPair::Generate();
  if (!identity.SavePrivateKeyFile(data / "node.key").ok()) {
    return Failed("cannot save a node key");
  }
  coordinator::School school;
  school.brin = StrCat("B", i);
  school.name = StrCat("Bench school ", i);
  school.municipality = kMunicipalities[i % 3];
  auto code = engine_->NewEnrollmentCode(school);
  if (!code.ok()) return Failed("cannot create an enrollment code");
  v1::EnrollRequest enroll;
  enroll.set_code(code->code());
  enroll.set_identity_public_key(std::string(identity.public_key().bytes()));
  auto enrolled = engine_->Enroll(enroll);
  if (!enrolled.ok()) return Failed("cannot enroll");
  node::NodeConfig config;
  config.coordinator = address_;
  config.insecure_loopback = true;
  config.school_id = enrolled->school_id();
  config.municipality = enrolled->municipality();
  config.approvers.push_back(approver_key_.public_key());
  std::ofstream(data / "node.yaml") << config.ToYaml();
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = (dir_ / StrCat("school-", i, ".log")).string();
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(self.c_str(), self.c_str(), "e2e-node", "--data-dir", data.c_str(),
          "--key-file", key.c_str(), nullptr);
    _exit(127);
  }
  pids_.push_back(pid);
  return absl::OkStatus();
}

absl::Status E2eRun::WaitForNodes() {
  for (int waited = 0;; waited += 50) {
    auto nodes = engine_->Nodes(admin_);
    int connected = 0;
    if (nodes.ok()) {
      for (const auto& n : *nodes) connected += n.connected();
    }
    if (connected == o_.nodes) return absl::OkStatus();
    if (waited > 60000) {
      return Failed(
          StrCat("only ", connected, " of ", o_.nodes, " nodes connected"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

absl::Status E2eRun::Measure(bool plaintext) {
  const auto spec = query::ParseQuerySpecJson(kSpec);
  engine_->SetBenchmarkPlaintext(plaintext);
  auto q = engine_->Submit(researcher_, *spec);
  if (!q.ok()) return q.status();
  const std::string id = q->ticket().query_id();
  const double cpu0 = CpuMs(pids_);
  const auto t0 = std::chrono::steady_clock::now();
  auto approved = engine_->Approve(
      approver_, id,
      *approver_key_.Sign(api::kApprovalContext, q->ticket_bytes()));
  auto done = engine_->WaitForQuery(id, std::chrono::minutes(5));
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  const double cpu_ms = CpuMs(pids_) - cpu0;
  if (!approved.ok() || !done.ok() ||
      done->state() != v1::QUERY_STATE_RELEASED ||
      done->participants() != static_cast<uint32_t>(o_.nodes)) {
    return Failed(StrCat("the ", plaintext ? "plaintext" : "secure",
                         " run did not release with every node: ",
                         done.ok() ? done->reason() : "timeout"));
  }
  auto body = engine_->Result(researcher_, id, v1::RESULT_FORMAT_JSON);
  (plaintext ? plain_ms_ : secure_ms_).push_back(ms);
  (plaintext ? plain_cpu_ms_ : secure_cpu_ms_).push_back(cpu_ms);
  (plaintext ? plain_result_ : secure_result_) = body.ok() ? *body : "";
  if (o_.progress) {
    std::cerr << (plaintext ? "plaintext " : "secure ") << ms << " ms, "
              << cpu_ms << " ms CPU\n";
  }
  return absl::OkStatus();
}

void E2eRun::StopNodes() {
  for (pid_t p : pids_) ::kill(p, SIGKILL);
  for (pid_t p : pids_) waitpid(p, nullptr, 0);
  pids_.clear();
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
  out["results_identical"] =
      !secure_result_.empty() && secure_result_ == plain_result_;
  out["note"] =
      "latency from approval to release on loopback: every node decides, "
      "then secure aggregation (5 rounds) or the benchmark-only plaintext "
      "sum (1 round); decode, disclosure control and release included; "
      "cpu_ms is the CPU time of the coordinator and all node processes "
      "during the run";
  return out;
}

// Sets up the coordinator and the schools, then runs the measurements.
absl::Status RunAll(E2eRun& run, const E2eBenchOptions& o,
                    const std::string& self) {
  if (auto s = run.StartCoordinator(); !s.ok()) return s;
  for (int i = 0; i < o.nodes; ++i) {
    if (auto s = run.StartSchool(i, self); !s.ok()) return s;
  }
  if (auto s = run.WaitForNodes(); !s.ok()) return s;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    for (bool plaintext : {false, true}) {
      if (auto s = run.Measure(plaintext); !s.ok()) return s;
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
  char tmpl[] = "/tmp/kring-e2e-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return {{"error", "cannot create temp dir"}};
  const std::filesystem::path dir = tmpl;
  E2eRun run(o, dir);
  if (absl::Status s = RunAll(run, o, self); !s.ok()) {
    run.StopNodes();
    return Error(dir, std::string(ToStd(s.message())));
  }
  run.StopNodes();
  run.StopServer();
  std::filesystem::remove_all(dir);
  return run.Report();
}

}  // namespace kring::bench
