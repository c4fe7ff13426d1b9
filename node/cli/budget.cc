// `kring-node budget`: what this school's pupils' privacy budget has been
// spent on — per wave the budget, what was spent and what is left, then
// every query that spent it (when, which query, for whom, how much).

#include "node/budget.h"

#include <iostream>
#include <memory>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "cli/support.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/session.h"
#include "node/config.h"
#include "query/privacy.h"

namespace kring::node {
namespace {

// Spent rho as epsilon at this delta (query/privacy.h), as releases state.
constexpr double kDelta = 1e-6;

double Epsilon(double rho) {
  return rho > 0 ? query::privacy::EpsilonAtDelta(rho, kDelta) : 0;
}

struct Policy {
  NodePolicy policy;
  bool enrolled = true;  // false: no node.yaml yet, kring's defaults
};

// The school's policy from node.yaml, or the defaults before enrollment.
absl::StatusOr<Policy> PolicyOf(const Common& c) {
  auto config =
      NodeConfig::Load(std::filesystem::path(c.data_dir) / "node.yaml");
  if (absl::IsNotFound(config.status())) return Policy{NodePolicy(), false};
  if (!config.ok()) return config.status();
  return Policy{config->policy, true};
}

void PrintText(const Policy& p, const std::vector<PrivacySpend>& spent) {
  const NodePolicy& policy = p.policy;
  const std::map<std::string, double> used = SpentByWave(spent);
  std::cout << absl::StrFormat(
      "Privacy budget per wave (school year): rho = %.4g (epsilon = %.3g at "
      "delta = %g); at most %.4g per query (%s).\n",
      policy.privacy_budget_per_wave, Epsilon(policy.privacy_budget_per_wave),
      kDelta, policy.max_rho_per_query,
      p.enrolled ? "node.yaml policy"
                 : "kring's defaults: this school is not enrolled yet");
  if (spent.empty()) {
    std::cout << "Nothing spent yet: no query has taken this school's "
                 "contribution.\n";
    return;
  }
  std::cout << "\nwave       spent      left       epsilon spent\n";
  for (const auto& [wave, rho] : used) {
    std::cout << absl::StrFormat("%-10s %-10.4g %-10.4g %.3g\n", wave, rho,
                                 policy.privacy_budget_per_wave - rho,
                                 Epsilon(rho));
  }
  std::cout << "\nwhen              query                     rho        "
               "waves     requester\n";
  for (const PrivacySpend& s : spent) {
    std::string waves;
    for (const std::string& w : s.waves)
      waves += (waves.empty() ? "" : ",") + w;
    std::cout << absl::StrFormat(
        "%-17s %-25s %-10.4g %-9s %s\n", cli::LocalMinute(s.unix_millis),
        s.query_id, s.rho, waves.empty() ? "-" : waves, s.requester);
  }
}

nlohmann::json Json(const Policy& p, const std::vector<PrivacySpend>& spent) {
  const NodePolicy& policy = p.policy;
  nlohmann::json waves = nlohmann::json::object();
  for (const auto& [wave, rho] : SpentByWave(spent)) {
    waves[wave] = {{"spent", rho},
                   {"left", policy.privacy_budget_per_wave - rho},
                   {"epsilon_spent", Epsilon(rho)}};
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const PrivacySpend& s : spent) {
    entries.push_back({{"query_id", s.query_id},
                       {"waves", s.waves},
                       {"rho", s.rho},
                       {"requester", s.requester},
                       {"unix_millis", s.unix_millis}});
  }
  return {{"budget_per_wave", policy.privacy_budget_per_wave},
          {"max_rho_per_query", policy.max_rho_per_query},
          {"delta", kDelta},
          {"enrolled", p.enrolled},
          {"waves", waves},
          {"spent", entries}};
}

int RunBudget(const Common& c, bool json) {
  auto policy = PolicyOf(c);
  if (!policy.ok()) return Fail(policy.status());
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto spent = store->PrivacySpent();
  if (!spent.ok()) return Fail(spent.status());
  if (json) {
    std::cout << Json(*policy, *spent).dump(2) << "\n";
  } else {
    PrintText(*policy, *spent);
  }
  return cli::kExitOk;
}

}  // namespace

void AddBudgetCommand(CLI::App& app, cli::Command& chosen) {
  auto json = std::make_shared<bool>(false);
  auto* budget = app.add_subcommand(
      "budget",
      "Show this school's privacy budget: per wave what was spent and what "
      "is left, and every query that spent it (when, for whom, how much). "
      "Queries that would exceed a wave's budget are declined.");
  auto c =
      AddCommonOptions(*budget, /*with_key=*/true, /*with_instrument=*/false);
  budget->add_flag("--json", *json, "Machine-readable output");
  budget->callback([c, json, &chosen] {
    chosen = [c, json] { return RunBudget(*c, *json); };
  });
}

}  // namespace kring::node
