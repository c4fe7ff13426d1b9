#include "node/budget.h"

#include "absl/strings/str_format.h"

namespace kring::node {

std::map<std::string, double> SpentByWave(
    const std::vector<PrivacySpend>& spent) {
  std::map<std::string, double> out;
  for (const PrivacySpend& s : spent) {
    for (const std::string& w : s.waves) out[w] += s.rho;
  }
  return out;
}

std::optional<std::string> BudgetRefusal(const std::vector<PrivacySpend>& spent,
                                         const std::vector<std::string>& waves,
                                         double rho, double budget_per_wave) {
  const std::map<std::string, double> used = SpentByWave(spent);
  for (const std::string& w : waves) {
    auto it = used.find(w);
    const double before = it == used.end() ? 0.0 : it->second;
    if (before + rho > budget_per_wave) {
      return absl::StrFormat(
          "this school's privacy budget for wave %s is spent: %.4g of %.4g "
          "used, and this query needs %.4g more (kring-node budget shows the "
          "ledger)",
          w, before, budget_per_wave, rho);
    }
  }
  return std::nullopt;
}

}  // namespace kring::node
