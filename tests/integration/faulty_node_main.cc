// kring-node-faulty: `kring-node run` with faults injected, for the
// integration tests only (never installed). The same agent as kring-node,
// with a ReplyFilter that, at a chosen secure-aggregation round, stops the
// process dead (a school server losing power mid-query) or drops the
// connection once (a network failure), after sending that round's message
// or instead of sending it, or sends SIGKILL (kill -9) to itself or to
// another process (the coordinator) right after it answered a stage: its
// decision on a task, or a secure-aggregation round.
//
// With --zero-noise it adds no noise to the school's contribution, so that
// the flow tests can compare results with the pooled computation exactly
// (kring-node itself always adds noise; nothing switches it off).
//
//   kring-node-faulty --data-dir DIR --key-file FILE
//       [--crash-after-round R] [--disconnect-after-round R]
//       [--disconnect-before-round R] [--zero-noise]
//       [--sigkill-after decision|R [--sigkill-pid PID]]

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "cli/stop_signals.h"
#include "node/agent.h"
#include "node/audit.h"
#include "node/store.h"
#include "tests/testing/zero_noise.h"

namespace kring::node {
namespace {

struct Faults {
  bool zero_noise = false;
  int crash_after_round = -1;
  int disconnect_after_round = -1;
  int disconnect_before_round = -1;
  // "decision" or a round number: SIGKILL once after sending that reply.
  std::string sigkill_after;
  int sigkill_pid = 0;  // 0: this process
};

class FaultyReplies final : public ReplyFilter {
 public:
  explicit FaultyReplies(Faults faults) : faults_(faults) {}

  Action BeforeWrite(const v1::NodeToCoordinator& reply) override {
    if (!AtRound(reply, faults_.disconnect_before_round)) {
      return Action::kContinue;
    }
    std::cerr << "kring-node-faulty: dropping the connection before round "
              << faults_.disconnect_before_round << "\n";
    faults_.disconnect_before_round = -1;  // once
    return Action::kDisconnect;
  }

  Action AfterWrite(const v1::NodeToCoordinator& reply) override {
    if (AtStage(reply, faults_.sigkill_after)) {
      const pid_t pid =
          faults_.sigkill_pid > 0 ? faults_.sigkill_pid : getpid();
      std::cerr << "kring-node-faulty: kill -9 of "
                << (pid == getpid() ? "itself" : "pid " + std::to_string(pid))
                << " after " << faults_.sigkill_after << "\n";
      faults_.sigkill_after.clear();  // once
      ::kill(pid, SIGKILL);
    }
    if (AtRound(reply, faults_.crash_after_round)) {
      std::cerr << "kring-node-faulty: stopping dead after round "
                << faults_.crash_after_round << "\n";
      std::_Exit(3);
    }
    if (!AtRound(reply, faults_.disconnect_after_round)) {
      return Action::kContinue;
    }
    std::cerr << "kring-node-faulty: dropping the connection after round "
              << faults_.disconnect_after_round << "\n";
    faults_.disconnect_after_round = -1;  // once
    return Action::kDisconnect;
  }

 private:
  static bool AtRound(const v1::NodeToCoordinator& reply, int round) {
    return round >= 0 && reply.has_secagg() &&
           reply.secagg().round() == static_cast<uint32_t>(round);
  }
  // A decision (any query) or a round's message, as --sigkill-after names.
  static bool AtStage(const v1::NodeToCoordinator& reply,
                      const std::string& stage) {
    if (stage.empty()) return false;
    if (stage == "decision") return reply.has_decision();
    return AtRound(reply, std::atoi(stage.c_str()));
  }
  Faults faults_;
};

int Fail(const absl::Status& s) {
  std::cerr << "kring-node-faulty: " << s << "\n";
  return 1;
}

int Run(const std::filesystem::path& data_dir, const std::string& key_file,
        const Faults& faults) {
  auto config = NodeConfig::Load(data_dir / "node.yaml");
  if (!config.ok()) return Fail(config.status());
  auto store = Store::Open(data_dir, KeySource::KeyFile(key_file));
  if (!store.ok()) return Fail(store.status());
  auto audit = AuditLog::Open(data_dir, store->DeriveSubkey("audit-log-v1"));
  if (!audit.ok()) return Fail(audit.status());
  AgentOptions options;
  options.data_dir = data_dir;
  options.config = *std::move(config);
  options.reply_filter = std::make_shared<FaultyReplies>(faults);
  if (faults.zero_noise) options.noise = kring::testing::MakeZeroNoise();
  auto agent = Agent::Create(std::move(options), &*store, &*audit);
  if (!agent.ok()) return Fail(agent.status());
  Agent* running = agent->get();
  auto signals = cli::StopSignals::Install([running] { running->Stop(); });
  if (!signals.ok()) return Fail(signals.status());
  (*agent)->Run();
  signals->reset();
  return 0;
}

}  // namespace
}  // namespace kring::node

int main(int argc, char** argv) {
  CLI::App app{"kring-node run with injected faults (tests only)"};
  std::string data_dir, key_file;
  kring::node::Faults faults;
  app.add_option("--data-dir", data_dir)->required();
  app.add_option("--key-file", key_file)->required();
  app.add_option("--crash-after-round", faults.crash_after_round,
                 "exit at once after sending this round's message");
  app.add_option("--disconnect-after-round", faults.disconnect_after_round,
                 "drop the connection once after sending this round's");
  app.add_option("--disconnect-before-round", faults.disconnect_before_round,
                 "drop the connection once instead of sending this round's");
  app.add_option("--sigkill-after", faults.sigkill_after,
                 "send SIGKILL once after this reply: decision or a round")
      ->check(CLI::IsMember({"decision", "0", "1", "2", "3", "4"}));
  app.add_option("--sigkill-pid", faults.sigkill_pid,
                 "the process --sigkill-after kills (default: itself)");
  app.add_flag("--zero-noise", faults.zero_noise,
               "add no noise (exactness tests only)");
  CLI11_PARSE(app, argc, argv);
  return kring::node::Run(data_dir, key_file, faults);
}
