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
  auto agent = node::Agent::Create(std::move(options), &*store, &*audit);
  if (!agent.ok()) return 1;
  (*agent)->Run();  // until killed
  return 0;
}

nlohmann::json RunE2eBench(const E2eBenchOptions& o, const std::string& self) {
  char tmpl[] = "/tmp/kring-e2e-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return {{"error", "cannot create temp dir"}};
  const std::filesystem::path dir = tmpl;
  auto db = coordinator::CoordinatorDb::Open(dir / "coordinator", true);
  if (!db.ok()) return Error(dir, std::string(ToStd(db.status().message())));
  coordinator::EngineOptions eo;
  eo.decision_window = std::chrono::seconds(120);
  eo.round_deadline = std::chrono::seconds(120);
  auto engine = coordinator::Engine::Create(*std::move(db), eo);
  if (!engine.ok()) return Error(dir, "cannot start the engine");
  coordinator::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.insecure_loopback = true;
  so.requests_per_second = 1e6;
  so.burst = 1e6;
  auto server = coordinator::Server::Start(engine->get(), so);
  if (!server.ok()) return Error(dir, "cannot start the server");
  const std::string address = StrCat("127.0.0.1:", (*server)->port());

  coordinator::User admin{"bench-admin", v1::ROLE_ADMIN, {}, {}};
  auto researcher_key = crypto::IdentityKeyPair::Generate();
  auto approver_key = crypto::IdentityKeyPair::Generate();
  coordinator::User researcher{"bench-researcher",
                               v1::ROLE_RESEARCHER,
                               std::string(researcher_key.public_key().bytes()),
                               {}};
  coordinator::User approver{"bench-approver",
                             v1::ROLE_APPROVER,
                             std::string(approver_key.public_key().bytes()),
                             {}};
  if (!(*engine)->RegisterUser(admin, researcher).ok() ||
      !(*engine)->RegisterUser(admin, approver).ok()) {
    return Error(dir, "cannot register users");
  }

  // Schools: store, synthetic pupils, enrollment, node.yaml.
  std::vector<pid_t> pids;
  auto stop_nodes = [&] {
    for (pid_t p : pids) ::kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
    pids.clear();
  };
  for (int i = 0; i < o.nodes; ++i) {
    const auto data = dir / StrCat("school-", i);
    const auto key = dir / StrCat("school-", i, ".key");
    auto store = node::Store::Init(data, node::KeySource::KeyFile(key), {});
    if (!store.ok()) return Error(dir, "cannot create a store");
    node::SynthOptions synth;
    synth.rows = o.rows;
    synth.seed = 1000 + static_cast<uint64_t>(i);
    const std::string csv =
        node::SynthesizeExport(survey::Instrument::BelongingV1(), synth);
    auto imported = node::ImportExport(
        *store, csv, survey::Instrument::BelongingV1(), {}, false);
    if (!imported.ok() || !imported->parsed.problems.empty()) {
      return Error(dir, "cannot import synthetic pupils");
    }
    auto identity = crypto::IdentityKeyPair::Generate();
    if (!identity.SavePrivateKeyFile(data / "node.key").ok()) {
      return Error(dir, "cannot save a node key");
    }
    coordinator::School school;
    school.brin = StrCat("B", i);
    school.name = StrCat("Bench school ", i);
    school.municipality = kMunicipalities[i % 3];
    auto code = (*engine)->NewEnrollmentCode(school);
    if (!code.ok()) return Error(dir, "cannot create an enrollment code");
    v1::EnrollRequest enroll;
    enroll.set_code(code->code());
    enroll.set_identity_public_key(std::string(identity.public_key().bytes()));
    auto enrolled = (*engine)->Enroll(enroll);
    if (!enrolled.ok()) return Error(dir, "cannot enroll");
    node::NodeConfig config;
    config.coordinator = address;
    config.insecure_loopback = true;
    config.school_id = enrolled->school_id();
    config.municipality = enrolled->municipality();
    config.approvers.push_back(approver_key.public_key());
    std::ofstream(data / "node.yaml") << config.ToYaml();
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string log = (dir / StrCat("school-", i, ".log")).string();
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execl(self.c_str(), self.c_str(), "e2e-node", "--data-dir", data.c_str(),
            "--key-file", key.c_str(), nullptr);
      _exit(127);
    }
    pids.push_back(pid);
  }
  // Wait until every node is connected.
  for (int waited = 0;; waited += 50) {
    auto nodes = (*engine)->Nodes(admin);
    int connected = 0;
    if (nodes.ok()) {
      for (const auto& n : *nodes) connected += n.connected();
    }
    if (connected == o.nodes) break;
    if (waited > 60000) {
      stop_nodes();
      return Error(
          dir, StrCat("only ", connected, " of ", o.nodes, " nodes connected"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto spec = query::ParseQuerySpecJson(kSpec);
  std::vector<double> secure_ms, plain_ms, secure_cpu_ms, plain_cpu_ms;
  std::string secure_result, plain_result;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    for (bool plaintext : {false, true}) {
      (*engine)->SetBenchmarkPlaintext(plaintext);
      auto q = (*engine)->Submit(researcher, *spec);
      if (!q.ok()) {
        stop_nodes();
        return Error(dir, std::string(ToStd(q.status().message())));
      }
      const std::string id = q->ticket().query_id();
      const double cpu0 = CpuMs(pids);
      const auto t0 = std::chrono::steady_clock::now();
      auto approved = (*engine)->Approve(
          approver, id,
          *approver_key.Sign(api::kApprovalContext, q->ticket_bytes()));
      auto done = (*engine)->WaitForQuery(id, std::chrono::minutes(5));
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
      const double cpu_ms = CpuMs(pids) - cpu0;
      if (!approved.ok() || !done.ok() ||
          done->state() != v1::QUERY_STATE_RELEASED ||
          done->participants() != static_cast<uint32_t>(o.nodes)) {
        stop_nodes();
        return Error(dir, StrCat("the ", plaintext ? "plaintext" : "secure",
                                 " run did not release with every node: ",
                                 done.ok() ? done->reason() : "timeout"));
      }
      auto body = (*engine)->Result(researcher, id, v1::RESULT_FORMAT_JSON);
      (plaintext ? plain_ms : secure_ms).push_back(ms);
      (plaintext ? plain_cpu_ms : secure_cpu_ms).push_back(cpu_ms);
      (plaintext ? plain_result : secure_result) = body.ok() ? *body : "";
      if (o.progress) {
        std::cerr << (plaintext ? "plaintext " : "secure ") << ms << " ms, "
                  << cpu_ms << " ms CPU\n";
      }
    }
  }
  stop_nodes();
  server->reset();
  std::filesystem::remove_all(dir);
  nlohmann::json out;
  out["benchmark"] = "e2e";
  out["nodes"] = o.nodes;
  out["rows_per_node"] = o.rows;
  out["repetitions"] = o.repetitions;
  out["secure_ms_median"] = Median(secure_ms);
  out["plaintext_ms_median"] = Median(plain_ms);
  out["ratio"] = Median(secure_ms) / Median(plain_ms);
  // On one machine every node shares its cores: a run cannot finish faster
  // than its CPU time divided by the cores.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  out["cores"] = sched_getaffinity(0, sizeof(allowed), &allowed) == 0
                     ? CPU_COUNT(&allowed)
                     : static_cast<int>(std::thread::hardware_concurrency());
  out["secure_cpu_ms_median"] = Median(secure_cpu_ms);
  out["plaintext_cpu_ms_median"] = Median(plain_cpu_ms);
  out["results_identical"] =
      !secure_result.empty() && secure_result == plain_result;
  out["note"] =
      "latency from approval to release on loopback: every node decides, "
      "then secure aggregation (5 rounds) or the benchmark-only plaintext "
      "sum (1 round); decode, disclosure control and release included; "
      "cpu_ms is the CPU time of the coordinator and all node processes "
      "during the run";
  return out;
}

}  // namespace kring::bench
