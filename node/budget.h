#ifndef KRING_NODE_BUDGET_H_
#define KRING_NODE_BUDGET_H_

// The school's privacy budget (differential privacy, zCDP rho per pupil):
// each query that takes this school's contribution spends its rho from
// every wave (school year) of data it touches; node.yaml sets the budget
// per wave and the most one query may spend. The ledger lives in the
// encrypted store (Store::SpendPrivacy); these are its pure rules.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kring::node {

// One query's spend, charged to each of `waves`.
struct PrivacySpend {
  std::string query_id;
  std::vector<std::string> waves;
  double rho = 0;
  std::string requester;
  int64_t unix_millis = 0;
};

// What has been spent from each wave.
std::map<std::string, double> SpentByWave(
    const std::vector<PrivacySpend>& spent);

// Why spending `rho` from `waves` would exceed `budget_per_wave` given what
// was `spent`, naming the first wave that would run out; nullopt if it
// fits.
std::optional<std::string> BudgetRefusal(const std::vector<PrivacySpend>& spent,
                                         const std::vector<std::string>& waves,
                                         double rho, double budget_per_wave);

}  // namespace kring::node

#endif  // KRING_NODE_BUDGET_H_
