// `kring-node run`, `pending`, `accept` and `decline`: taking part in
// queries, and school IT's decisions on the queries that wait for them.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/stop_signals.h"
#include "cli/support.h"
#include "cli/systemd.h"
#include "nlohmann/json.hpp"
#include "node/agent.h"
#include "node/cli/commands.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitOk;

// Connects to the coordinator and takes part in queries until stopped.
int RunAgent(const Common& c) {
  auto config =
      NodeConfig::Load(std::filesystem::path(c.data_dir) / "node.yaml");
  if (!config.ok()) return Fail(config.status());
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  AgentOptions options;
  options.data_dir = c.data_dir;
  options.config = *config;
  auto agent = Agent::Create(std::move(options), &*store, &*audit);
  if (!agent.ok()) return Fail(agent.status());
  // Agent::Stop takes locks: it runs on the watcher thread, never in a
  // signal handler.
  Agent* running = agent->get();
  auto signals = cli::StopSignals::Install([running] { running->Stop(); });
  if (!signals.ok()) return Fail(signals.status());
  std::cerr << "kring-node: school " << config->school_id << " connecting to "
            << config->coordinator << " (stop with Ctrl-C)\n";
  // Under systemd (Type=notify): ready once the store, the audit log and
  // the identity are open; the agent connects and reconnects by itself.
  cli::NotifyReady(StrCat("school ", config->school_id, ": taking part via ",
                          config->coordinator));
  auto watchdog = cli::Watchdog::Start([] { return true; });
  (*agent)->Run();
  cli::NotifyStopping();
  watchdog.reset();
  signals->reset();  // before the agent goes
  std::cerr << "kring-node: stopped\n";
  return kExitOk;
}

// Tasks waiting for school IT (policy.manual_accept in node.yaml).
int RunPending(const Common& c, bool json) {
  auto pending = ListPending(c.data_dir);
  if (!pending.ok()) return Fail(pending.status());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const PendingTask& p : *pending) {
      out.push_back({{"query_id", p.query_id},
                     {"summary", p.summary},
                     {"requester", p.requester},
                     {"respond_by_unix_millis", p.respond_by_unix_millis}});
    }
    std::cout << out.dump(2, ' ', false,
                          nlohmann::json::error_handler_t::replace)
              << "\n";
    return kExitOk;
  }
  if (pending->empty()) {
    std::cout << "No queries are waiting for your decision.\n";
    return kExitOk;
  }
  for (const PendingTask& p : *pending) {
    std::cout << p.query_id << "  from " << p.requester << "\n  " << p.summary
              << "\n";
  }
  std::cout << "\nAccept with `kring-node accept ID`, or decline with "
               "`kring-node decline ID --reason ...`. See exactly what would "
               "leave the school first with `kring-node preview`.\n";
  return kExitOk;
}

int RunDecide(const Common& c, const std::string& id, bool accept,
              const std::string& reason) {
  if (auto s = DecidePending(c.data_dir, id, accept, cli::OneLine(reason));
      !s.ok()) {
    return Fail(s);
  }
  std::cout << (accept ? "Accepted " : "Declined ") << id
            << "; the running node passes it on (kring-node run).\n";
  return kExitOk;
}

struct DecideFlags {
  std::string id;
  std::string reason;
};

}  // namespace

void AddRunCommands(CLI::App& app, cli::Command& chosen) {
  auto json = std::make_shared<bool>(false);
  auto* pending = app.add_subcommand(
      "pending", "List queries waiting for your decision (manual_accept).");
  auto c =
      AddCommonOptions(*pending, /*with_key=*/false, /*with_instrument=*/false);
  pending->add_flag("--json", *json, "Machine-readable output");
  pending->callback([c, json, &chosen] {
    chosen = [c, json] { return RunPending(*c, *json); };
  });

  auto d = std::make_shared<DecideFlags>();
  auto* accept = app.add_subcommand("accept", "Take part in a waiting query.");
  auto accept_common =
      AddCommonOptions(*accept, /*with_key=*/false, /*with_instrument=*/false);
  accept->add_option("id", d->id, "Query id (see `pending`)")->required();
  accept->callback([accept_common, d, &chosen] {
    chosen = [accept_common, d] {
      return RunDecide(*accept_common, d->id, true, "");
    };
  });
  auto* decline = app.add_subcommand(
      "decline", "Decline a waiting query; the reason goes to the requester.");
  auto decline_common =
      AddCommonOptions(*decline, /*with_key=*/false, /*with_instrument=*/false);
  decline->add_option("id", d->id, "Query id (see `pending`)")->required();
  decline->add_option("--reason", d->reason, "Why (one line)");
  decline->callback([decline_common, d, &chosen] {
    chosen = [decline_common, d] {
      return RunDecide(*decline_common, d->id, false, d->reason);
    };
  });

  auto* run = app.add_subcommand(
      "run",
      "Connect to the coordinator and take part in approved queries that "
      "this school's policy allows (node.yaml). Runs until stopped.");
  auto run_common =
      AddCommonOptions(*run, /*with_key=*/true, /*with_instrument=*/false);
  run->callback([run_common, &chosen] {
    chosen = [run_common] { return RunAgent(*run_common); };
  });
}

}  // namespace kring::node
