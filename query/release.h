#ifndef KRING_QUERY_RELEASE_H_
#define KRING_QUERY_RELEASE_H_

// What a requester may see of a decoded result: disclosure control applied
// cell by cell (query/disclosure.h), counts rounded, every suppressed cell
// with its reason; rendered as a terminal table, JSON or CSV.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/disclosure.h"
#include "query/ledger.h"
#include "query/noise.h"

namespace kring::query {

struct ReleasedCell {
  std::string name;                 // "track=havo,gender=*"
  std::vector<std::string> labels;  // per group variable; "all" = margin
  bool is_margin = false;
  Suppression status = Suppression::kReleased;
  std::string reason;  // why suppressed; empty when released
  // Respondents rounded to the rounding base; set iff released.
  std::optional<uint64_t> shown_respondents;
  // Released figures only; counts of people rounded.
  std::vector<Figure> figures;
  std::vector<std::string> notes;
};

// The differential privacy behind a release (query/noise.h).
struct PrivacyStatement {
  double rho = 0;      // zCDP spent per pupil
  double epsilon = 0;  // the same as (epsilon, delta)-DP
  double delta = 1e-6;
  uint32_t schools = 0;       // schools whose noise is in the sums
  uint32_t min_schools = 0;   // the fewest the noise was calibrated for
  double count_noise_sd = 0;  // noise SD of a cell's count of pupils
  // The schools rule (query/noise.h): a school counts fully in a cell with
  // school_cap respondents; a cell with fewer than the threshold's schools
  // is shown with probability at most schools_rule_error, a cell of one
  // school with probability below 2^-40.
  uint64_t school_cap = 1;
  double schools_rule_error = 0;
  // Set when the figures are an earlier release's answer to the same query
  // over the same schools (query/ledger.h, RepeatAnswers): its id.
  std::string repeat_of;
};

// The statement for a sum of `schools` inputs under `plan`, whose cells
// need `min_schools` schools (the disclosure threshold in force).
PrivacyStatement StatementFor(const NoisePlan& plan, uint32_t schools,
                              uint64_t min_schools);

struct ReleasedResult {
  std::string summary;
  // Set for every release from the network; absent for local previews.
  std::optional<PrivacyStatement> privacy;
  std::vector<std::string> group_names;  // "track", ...
  CellThresholds thresholds;
  uint32_t rounding_base = 1;
  std::vector<ReleasedCell> cells;
  // Whole-table figures (a crosstab's chi-square test): only when no inner
  // cell is suppressed, since with the margins it could pin one down.
  std::vector<Figure> table;
  std::string table_note;

  nlohmann::json ToJson() const;
  // Long format: cell, group levels..., measure, statistic, value, status,
  // reason — one row per figure, one row per suppressed cell.
  std::string ToCsv() const;
  // A readable table for a terminal.
  std::string ToText() const;
};

// Reads a disclosure policy file (JSON):
//   {"min_respondents": 10, "min_schools": 3, "rounding_base": 5,
//    "special_category": {"min_respondents": 20, "min_schools": 5}}
// Every field is optional (missing = the safe default). A policy may only
// be stricter than DisclosurePolicy::Default(): control cannot be switched
// off or weakened by configuration. INVALID_ARGUMENT names the field.
absl::StatusOr<DisclosurePolicy> ParsePolicyJson(std::string_view json);

// Applies disclosure control to `result` under `policy`, tightened by the
// query's own disclosure request (INVALID_ARGUMENT when the request is
// weaker than policy). Cells: the group-by table with its margins (one
// group variable: rows x 1; none: a single cell).
absl::StatusOr<ReleasedResult> ApplyDisclosure(const Layout& layout,
                                               const Result& result,
                                               const DisclosurePolicy& policy);

// The release-ledger key of a query: statistic, measures, groups with their
// levels, predictors and cut-off, in canonical order (reordering them gives
// the same key). The population filter, purpose and disclosure parameters
// are left out, so releases over different populations are compared.
std::string StatisticKey(const Query& query);

// The ledger entry of a release: the true counts behind every released
// cell (margins included), under StatisticKey.
absl::StatusOr<Release> LedgerEntry(std::string release_id,
                                    const Layout& layout, const Result& result,
                                    const ReleasedResult& released,
                                    std::set<std::string> participants);

// This school's own figures, undisclosed, for `kring-node preview` (they
// never leave the school): every figure, nothing suppressed or rounded.
ReleasedResult Unprotected(const Layout& layout, const Result& result);

}  // namespace kring::query

#endif  // KRING_QUERY_RELEASE_H_
