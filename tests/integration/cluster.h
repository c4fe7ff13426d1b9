#ifndef KRING_TESTS_INTEGRATION_CLUSTER_H_
#define KRING_TESTS_INTEGRATION_CLUSTER_H_

// Real processes on loopback: a kring-coordinator and kring-node agents,
// each school with its own encrypted store of synthetic pupils, plus
// signed requests from test users.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/auth.h"
#include "crypto/identity.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kring/v1/service.grpc.pb.h"
#include "node/store.h"
#include "tests/testing/wait.h"

namespace kring::testing {

// A child process with its output in a log file.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::filesystem::path& log,
          std::vector<std::string> env = {}) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      // Writes past a file size limit (RLIMIT_FSIZE, the disk-full tests)
      // fail with EFBIG instead of killing the process, as a full disk
      // fails them with ENOSPC.
      signal(SIGXFSZ, SIG_IGN);
      for (const auto& e : env) putenv(strdup(e.c_str()));
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Process() { Kill(SIGKILL); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  void Kill(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool alive() const { return pid_ > 0; }
  // Sends `sig` and waits up to `deadline` for the process to exit: its
  // exit code, or -1 if it ended by a signal or had to be killed (SIGKILL)
  // at the deadline.
  int StopWithin(int sig, std::chrono::milliseconds deadline) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    const bool exited = WaitUntil(
        [&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, deadline);
    if (!exited) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }
  // True once the process has ended (reaps it; does not block).
  bool Exited() {
    if (pid_ <= 0) return true;
    int status;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

 private:
  pid_t pid_ = -1;
};

struct CommandResult {
  int exit_code;
  std::string out;
};

inline CommandResult Command(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct TestUser {
  std::string id;
  std::unique_ptr<crypto::IdentityKeyPair> key;
};

class Cluster {
 public:
  Cluster() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-flow-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  ~Cluster() {
    nodes_.clear();
    coordinator_.reset();
    std::filesystem::remove_all(dir_);
  }
  const std::filesystem::path& dir() const { return dir_; }
  std::string coordinator_dir() const { return (dir_ / "coord").string(); }

  // kring-coordinator init.
  void Init() {
    auto r = Command(StrCatQ(KRING_COORDINATOR_BINARY, " init --data-dir '",
                             coordinator_dir(), "'"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  // A user with a fresh key, registered offline.
  TestUser AddUser(const std::string& id, const std::string& role,
                   const std::string& municipality = "") {
    TestUser u{id, std::make_unique<crypto::IdentityKeyPair>(
                       crypto::IdentityKeyPair::Generate())};
    const auto pub = dir_ / (id + ".pub");
    EXPECT_TRUE(u.key->public_key().SaveFile(pub).ok());
    EXPECT_TRUE(u.key->SavePrivateKeyFile(KeyFile(id)).ok());
    auto r = Command(StrCatQ(
        KRING_COORDINATOR_BINARY, " add-user --data-dir '", coordinator_dir(),
        "' --id ", id, " --role ", role, " --public-key '", pub.string(), "'",
        municipality.empty() ? "" : " --municipality " + municipality));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return u;
  }

  // The decision phase ends as soon as every school decided, so a long
  // decision window costs nothing when all are up.
  void StartCoordinator(double decision_seconds = 60, double round_seconds = 8,
                        std::vector<std::string> extra = {}) {
    StartCoordinatorOn("0", decision_seconds, round_seconds, std::move(extra));
  }
  // Starts the coordinator again on the port it had, so that running nodes
  // find it; the previous process must have ended (reaps it).
  void RestartCoordinator(double decision_seconds = 60,
                          double round_seconds = 8) {
    const std::string port = port_;
    ASSERT_FALSE(port.empty()) << "the coordinator never started";
    ASSERT_TRUE(WaitUntil([&] { return CoordinatorExited(); },
                          std::chrono::seconds(30)))
        << "the coordinator is still running";
    coordinator_.reset();
    StartCoordinatorOn(port, decision_seconds, round_seconds, {});
  }
  // True once the coordinator process has ended (reaps it).
  bool CoordinatorExited() { return !coordinator_ || coordinator_->Exited(); }

  void StartCoordinatorOn(const std::string& listen_port,
                          double decision_seconds, double round_seconds,
                          std::vector<std::string> extra) {
    port_.clear();
    const auto port_file = dir_ / "port";
    std::filesystem::remove(port_file);
    std::vector<std::string> argv = {KRING_COORDINATOR_BINARY,
                                     "serve",
                                     "--data-dir",
                                     coordinator_dir(),
                                     "--listen",
                                     "127.0.0.1:" + listen_port,
                                     "--insecure-loopback",
                                     "--port-file",
                                     port_file.string(),
                                     "--decision-seconds",
                                     std::to_string(decision_seconds),
                                     "--round-seconds",
                                     std::to_string(round_seconds)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    coordinator_ =
        std::make_unique<Process>(std::move(argv), dir_ / "coordinator.log");
    // Started: it wrote its port and the newline after it (or it died).
    WaitUntil(
        [&] {
          std::ifstream in(port_file);
          std::stringstream text;
          text << in.rdbuf();
          const std::string line = text.str();
          if (line.size() > 1 && line.back() == '\n') {
            port_ = line.substr(0, line.size() - 1);
          }
          return !port_.empty() || coordinator_->Exited();
        },
        std::chrono::seconds(30));
    ASSERT_FALSE(port_.empty())
        << "the coordinator did not start; see " << dir_ / "coordinator.log";
    address_ = "127.0.0.1:" + port_;
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void StopCoordinator() {
    coordinator_.reset();
    port_.clear();
  }
  const std::string& address() const { return address_; }
  // Sends the test's calls (Submit, Get, WaitConnected...) to the
  // coordinator at `address` from now on (failover tests: the standby).
  void UseCoordinatorAt(const std::string& address) {
    address_ = address;
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  pid_t coordinator_pid() const {
    return coordinator_ ? coordinator_->pid() : -1;
  }
  // The private key file of a user added with AddUser.
  std::string KeyFile(const std::string& user_id) const {
    return (dir_ / (user_id + ".key")).string();
  }
  v1::Coordinator::Stub& stub() { return *stub_; }

  // A school: store with synthetic pupils, enrolled, not yet running.
  // `drop_columns`: columns removed from the synthetic export before the
  // import (a school that asked only part of the questionnaire).
  void AddSchool(const std::string& name, const std::string& municipality,
                 int seed, int rows, const TestUser& approver,
                 const std::string& extra_enroll = "",
                 const std::vector<std::string>& drop_columns = {}) {
    const auto data = dir_ / name;
    const std::string key = (dir_ / (name + ".key")).string();
    const std::string common =
        StrCatQ(" --data-dir '", data.string(), "' --key-file '", key, "'");
    auto r = Command(StrCatQ(KRING_NODE_BINARY, " init", common));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto csv = dir_ / (name + ".csv");
    r = Command(StrCatQ(KRING_NODE_BINARY, " synth --rows ", rows, " --seed ",
                        seed, " --out '", csv.string(), "'"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    if (!drop_columns.empty()) DropColumns(csv, drop_columns);
    r = Command(
        StrCatQ(KRING_NODE_BINARY, " import '", csv.string(), "'", common));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = Command(StrCatQ(KRING_COORDINATOR_BINARY, " enroll-code --data-dir '",
                        coordinator_dir(), "' --brin ", name, " --name '", name,
                        " school' --municipality ", municipality));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::string code = r.out.substr(0, r.out.find('\n'));
    r = Command(StrCatQ(
        KRING_NODE_BINARY, " enroll --coordinator ", address_,
        " --insecure-loopback --code ", code, " --approver-key '",
        (dir_ / (approver.id + ".pub")).string(), "'", extra_enroll, common));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    schools_[name] = {data, key};
  }

  // Rewrites a synthetic kring-template export (no quoted cells) without
  // the columns whose headers are in `drop`.
  static void DropColumns(const std::filesystem::path& csv,
                          const std::vector<std::string>& drop) {
    std::ifstream in(csv);
    std::vector<bool> keep;
    std::string out, line;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream cs(line);
      for (std::string cell; std::getline(cs, cell, ',');) {
        cells.push_back(cell);
      }
      if (!line.empty() && line.back() == ',') cells.emplace_back();
      if (keep.empty()) {
        for (const std::string& h : cells) {
          keep.push_back(std::find(drop.begin(), drop.end(), h) == drop.end());
        }
      }
      std::string kept;
      bool first = true;
      for (size_t i = 0; i < cells.size() && i < keep.size(); ++i) {
        if (!keep[i]) continue;
        kept += (first ? "" : ",") + cells[i];
        first = false;
      }
      out += kept + "\n";
    }
    std::ofstream(csv, std::ios::trunc) << out;
  }

  // `crash_after_round` >= 0: the node dies right after sending its
  // secure-aggregation message of that round. `disconnect_round` >= 0: it
  // drops its connection there once (after sending that message, or with
  // `disconnect_before_send` instead of sending it) and reconnects. Faults
  // run the test-only kring-node-faulty instead of kring-node.
  void StartNode(const std::string& name, int crash_after_round = -1,
                 int disconnect_round = -1,
                 bool disconnect_before_send = false) {
    const auto& s = schools_.at(name);
    std::vector<std::string> argv = {KRING_NODE_BINARY, "run"};
    if (crash_after_round >= 0 || disconnect_round >= 0 || zero_noise_) {
      argv = {KRING_NODE_FAULTY_BINARY};
    }
    if (zero_noise_) argv.push_back("--zero-noise");
    if (crash_after_round >= 0) {
      argv.push_back("--crash-after-round=" +
                     std::to_string(crash_after_round));
    }
    if (disconnect_round >= 0) {
      argv.push_back(std::string(disconnect_before_send
                                     ? "--disconnect-before-round="
                                     : "--disconnect-after-round=") +
                     std::to_string(disconnect_round));
    }
    argv.insert(argv.end(),
                {"--data-dir", s.data.string(), "--key-file", s.key});
    nodes_[name] =
        std::make_unique<Process>(std::move(argv), dir_ / (name + ".log"));
  }
  // Runs kring-node-faulty with `faults` (its flags, e.g. --sigkill-after)
  // for school `name`, without noise.
  void StartFaultyNode(const std::string& name,
                       std::vector<std::string> faults) {
    const auto& s = schools_.at(name);
    std::vector<std::string> argv = {KRING_NODE_FAULTY_BINARY, "--zero-noise"};
    argv.insert(argv.end(), faults.begin(), faults.end());
    argv.insert(argv.end(),
                {"--data-dir", s.data.string(), "--key-file", s.key});
    nodes_[name] =
        std::make_unique<Process>(std::move(argv), dir_ / (name + ".log"));
  }
  // True once node `name` has ended (reaps it).
  bool NodeExited(const std::string& name) {
    auto it = nodes_.find(name);
    return it == nodes_.end() || it->second->Exited();
  }
  // Whether StartNode runs nodes without noise (kring-node-faulty
  // --zero-noise), so that results equal the pooled computation; on by
  // default. Off: the real kring-node, which always adds noise.
  void set_zero_noise(bool on) { zero_noise_ = on; }
  // Waits until the coordinator lists every school in `names` (by BRIN) as
  // connected; `admin` is a user with the admin role.
  void WaitConnected(const TestUser& admin,
                     const std::vector<std::string>& names);
  // Stops a node with `sig`: its exit code within `deadline`, or -1.
  int StopNodeWithin(const std::string& name, int sig,
                     std::chrono::milliseconds deadline) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return -1;
    const int code = it->second->StopWithin(sig, deadline);
    nodes_.erase(it);
    return code;
  }
  pid_t node_pid(const std::string& name) const {
    auto it = nodes_.find(name);
    return it == nodes_.end() ? -1 : it->second->pid();
  }
  void StopNode(const std::string& name, int sig = SIGTERM) {
    auto it = nodes_.find(name);
    if (it != nodes_.end()) {
      it->second->Kill(sig);
      nodes_.erase(it);
    }
  }
  std::vector<std::string> schools() const {
    std::vector<std::string> out;
    for (const auto& [n, s] : schools_) out.push_back(n);
    return out;
  }
  // Every school's records, read with its key (for pooled comparisons).
  std::map<std::string, std::vector<v1::PupilRecord>> Records() {
    std::map<std::string, std::vector<v1::PupilRecord>> out;
    for (const auto& [n, s] : schools_) {
      auto store = node::Store::Open(s.data, node::KeySource::KeyFile(s.key));
      EXPECT_TRUE(store.ok()) << store.status();
      if (!store.ok()) continue;
      (void)store->ForEach(
          [&](const v1::PupilRecord& r) { out[n].push_back(r); });
    }
    return out;
  }
  std::string SchoolDir(const std::string& name) const {
    return schools_.at(name).data.string();
  }
  std::string SchoolKey(const std::string& name) const {
    return schools_.at(name).key;
  }

  // Signed unary calls.
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(const TestUser& u, const std::string& method,
                    Request request, Response* response, Method m) {
    EXPECT_TRUE(api::SignRequest(method, u.id, *u.key, request).ok());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    return (stub_.get()->*m)(&ctx, request, response);
  }

  absl::StatusOr<v1::QueryInfo> Submit(const TestUser& u,
                                       const std::string& spec_json);
  grpc::Status Approve(const TestUser& approver, const v1::QueryInfo& q);
  // Waits until the query is released, failed or rejected.
  v1::QueryInfo WaitDone(const TestUser& u, const std::string& query_id,
                         int seconds = 60);
  // The query as `u` sees it now.
  v1::QueryInfo Get(const TestUser& u, const std::string& query_id);

 private:
  template <typename... Args>
  static std::string StrCatQ(const Args&... args) {
    std::ostringstream ss;
    (ss << ... << args);
    return ss.str();
  }
  struct SchoolFiles {
    std::filesystem::path data;
    std::string key;
  };
  std::filesystem::path dir_;
  std::unique_ptr<Process> coordinator_;
  std::string port_, address_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::map<std::string, SchoolFiles> schools_;
  std::map<std::string, std::unique_ptr<Process>> nodes_;
  bool zero_noise_ = true;
};

// `kring-node audit` of a school.
inline CommandResult Audit(Cluster& c, const std::string& school) {
  return Command(std::string(KRING_NODE_BINARY) + " audit --data-dir '" +
                 c.SchoolDir(school) + "' --key-file '" + c.SchoolKey(school) +
                 "'");
}

// Waits (30 s at most) until the audit log of `school` contains `text`.
inline bool WaitForAudit(Cluster& c, const std::string& school,
                         const std::string& text) {
  return WaitUntil(
      [&] { return Audit(c, school).out.find(text) != std::string::npos; },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
}

// `kring-coordinator audit [flags]` of the cluster's coordinator.
inline CommandResult CoordinatorAudit(Cluster& c,
                                      const std::string& flags = "") {
  return Command(std::string(KRING_COORDINATOR_BINARY) + " audit " + flags +
                 " --data-dir '" + c.coordinator_dir() + "'");
}

}  // namespace kring::testing

#endif  // KRING_TESTS_INTEGRATION_CLUSTER_H_
