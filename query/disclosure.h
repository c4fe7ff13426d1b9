#ifndef KRING_QUERY_DISCLOSURE_H_
#define KRING_QUERY_DISCLOSURE_H_

// Disclosure control for tables of counts, applied by the coordinator before
// anything is released (DESIGN.md, "Disclosure control and differential
// privacy"). Pure logic: no I/O, no protobuf, no randomness.
//
// Terms. A *cell* is one group of the group-by (e.g. girls in year 9); its
// *respondents* are the pupils counted in it and its *schools* the schools
// contributing at least one of them. A *figure* is anything shown with a
// count: a cell, a row or column total (a *margin*) or the grand total.
//
// Rules:
//  * Primary suppression: a figure with fewer than min_respondents
//    respondents, or fewer than min_schools schools, is suppressed. Stricter
//    thresholds apply when the group-by has a special-category attribute
//    (migration background, financial strain).
//  * Secondary suppression: further figures are suppressed so that no
//    suppressed figure can be recomputed from the released ones (see Decide).
//  * Everything about a suppressed figure is hidden: its count and every
//    statistic of its population (percentages, means, correlations), since
//    e.g. a percentage together with a released total gives the count back.
//    A share of another figure (a row percentage) needs both released.
//  * Counts are shown rounded to the policy's base (default 5). Decisions use
//    the true counts; margins are summed from true counts and then rounded,
//    so rounded cells need not add up to their rounded margin. That is
//    intended: adding up the rounded cells must not give the exact margin.
//  * Every suppressed figure carries its reason (Explain).
//
// Limits: protection is against exact recomputation from the linear
// relations of one table (cells, margins, grand total). Bounds that follow
// from counts being non-negative are not widened (no protection intervals),
// a table with more than two dimensions must be flattened by the caller
// (and then only this table's margins may be released), and differencing
// across releases is the release ledger's job (query/ledger.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kring::query {

// True counts for one figure. `schools` counts the schools with at least one
// respondent in it, so schools <= respondents, and schools >= 1 whenever
// respondents >= 1.
struct CellStats {
  uint64_t respondents = 0;
  uint64_t schools = 0;
};

// Minimum respondents and schools for a figure to be shown.
struct CellThresholds {
  uint64_t min_respondents = 0;
  uint64_t min_schools = 0;
};

// Disclosure parameters a researcher may ask for with a query. Each one is
// optional and may only make the policy stricter (DisclosurePolicy::Tighten).
struct DisclosureRequest {
  std::optional<uint64_t> min_respondents;
  std::optional<uint64_t> min_schools;
  std::optional<uint32_t> rounding_base;
};

// The deployment's disclosure rules. Immutable value type; thread-safe.
class DisclosurePolicy {
 public:
  // Defaults: 10 respondents and 3 schools per figure; 20 and 5 when the
  // group-by has a special-category attribute; counts rounded to base 5.
  static DisclosurePolicy Default();

  // INVALID_ARGUMENT unless every minimum is >= 1, rounding_base >= 1 and
  // each special-category minimum is at least the normal one.
  static absl::StatusOr<DisclosurePolicy> Create(
      CellThresholds normal, CellThresholds special_category,
      uint32_t rounding_base);

  // The policy with `request` applied. The requested minimums must be at
  // least the thresholds that apply to this query (the special-category ones
  // when `special_category_group_by`) and a requested rounding base must be
  // a multiple of the policy's (never finer); otherwise INVALID_ARGUMENT
  // saying what the policy allows (values are never silently clamped). A
  // requested minimum raises both the normal and the special-category
  // threshold to at least that value.
  absl::StatusOr<DisclosurePolicy> Tighten(
      const DisclosureRequest& request, bool special_category_group_by) const;

  const CellThresholds& normal() const { return normal_; }
  const CellThresholds& special_category() const { return special_; }
  uint32_t rounding_base() const { return rounding_base_; }
  // The thresholds for a query, by whether its group-by has a
  // special-category attribute.
  const CellThresholds& ThresholdsFor(bool special_category_group_by) const {
    return special_category_group_by ? special_ : normal_;
  }

 private:
  DisclosurePolicy(CellThresholds normal, CellThresholds special,
                   uint32_t rounding_base)
      : normal_(normal), special_(special), rounding_base_(rounding_base) {}

  CellThresholds normal_;
  CellThresholds special_;
  uint32_t rounding_base_;
};

// `count` rounded to the nearest multiple of `base`, halves rounded up
// (base 5: 2 -> 0, 3 -> 5; base 10: 15 -> 20); 0 stays 0. When rounding up
// would overflow uint64_t the result is rounded down instead. A base of 0 or
// 1 returns `count` unchanged.
uint64_t RoundToBase(uint64_t count, uint32_t base);

// A rows x cols table of cells with its margins (row totals, column totals,
// grand total), computed from the cells. A one-dimensional table is rows x 1
// (or 1 x cols); its row totals are then the cells themselves and its column
// total is the grand total. Immutable; thread-safe.
class Table {
 public:
  // Keeps the decision procedure (Decide) fast; far above any group-by.
  static constexpr size_t kMaxCells = 10000;

  // Exact numbers of distinct contributing schools of the margins, when the
  // caller knows them (e.g. from aggregated per-margin school indicators).
  struct MarginSchools {
    std::vector<uint64_t> rows;  // one per row
    std::vector<uint64_t> cols;  // one per column
    uint64_t total = 0;
  };

  // `cells` is row-major (cell (r, c) at r * cols + c). Without
  // `margin_schools` a margin's schools are taken as the largest school
  // count among its cells, a lower bound on the distinct schools, so
  // margins are never treated as safer than they are. INVALID_ARGUMENT for
  // an empty table, more than kMaxCells cells, a size mismatch, a cell whose
  // schools exceed its respondents or are 0 with respondents > 0, margin
  // school counts outside [largest, sum] of the counts they cover, or sums
  // that overflow.
  static absl::StatusOr<Table> Create(
      size_t rows, size_t cols, std::vector<CellStats> cells,
      std::optional<MarginSchools> margin_schools = std::nullopt);

  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  // Preconditions: r < rows(), c < cols().
  const CellStats& cell(size_t r, size_t c) const {
    return cells_[r * cols_ + c];
  }
  const CellStats& row_total(size_t r) const { return row_totals_[r]; }
  const CellStats& col_total(size_t c) const { return col_totals_[c]; }
  const CellStats& total() const { return total_; }

 private:
  Table(size_t rows, size_t cols, std::vector<CellStats> cells,
        std::vector<CellStats> row_totals, std::vector<CellStats> col_totals,
        CellStats total)
      : rows_(rows),
        cols_(cols),
        cells_(std::move(cells)),
        row_totals_(std::move(row_totals)),
        col_totals_(std::move(col_totals)),
        total_(total) {}

  size_t rows_;
  size_t cols_;
  std::vector<CellStats> cells_;
  std::vector<CellStats> row_totals_;
  std::vector<CellStats> col_totals_;
  CellStats total_;
};

// Why a figure is not shown (or kReleased when it is).
enum class Suppression {
  kReleased,
  kTooFewRespondents,  // primary: below min_respondents (checked first)
  kTooFewSchools,      // primary: below min_schools
  kSecondary,          // passes, but would let a suppressed figure be
                       // recomputed
};

// A stable machine-readable name: "released", "too_few_respondents",
// "too_few_schools" or "secondary".
std::string_view SuppressionCode(Suppression s);

// A plain-language reason for researchers, e.g. "fewer than 10
// respondents", with the thresholds that were applied.
std::string Explain(Suppression s, const CellThresholds& thresholds);

// What may be shown of one figure.
struct Outcome {
  Suppression status = Suppression::kReleased;
  // The count rounded to the policy's base; set exactly when released.
  std::optional<uint64_t> shown_respondents;

  // Whether the figure and statistics of its population (percentages,
  // means, correlations) may be shown.
  bool released() const { return status == Suppression::kReleased; }
};

// The outcome for every figure of a table.
struct Decision {
  size_t rows = 0;
  size_t cols = 0;
  CellThresholds thresholds;  // the thresholds applied
  uint32_t rounding_base = 1;
  std::vector<Outcome> cells;       // row-major, rows * cols
  std::vector<Outcome> row_totals;  // rows
  std::vector<Outcome> col_totals;  // cols
  Outcome total;

  // Preconditions: r < rows, c < cols.
  const Outcome& cell(size_t r, size_t c) const { return cells[r * cols + c]; }
};

// Applies primary and secondary suppression and rounding to `table` under
// the thresholds `policy` sets for the query (ThresholdsFor
// `special_category_group_by`). Deterministic.
//
// Secondary suppression: view the table with its margins as an
// (rows+1) x (cols+1) grid (row totals as the last column, column totals as
// the last row, grand total in the corner); every line of the grid (each
// row, each column) is an equation the released figures must satisfy. After
// primary suppression, repeat until nothing changes:
//  1. Any line with exactly one suppressed figure also gets its released
//     figure with the fewest respondents suppressed (cells before margins).
//     This covers a row or column whose margin is released, and the grand
//     total when one row (or column) margin is suppressed; a suppressed
//     margin needs no protection in its own row. In a one-dimensional table
//     one suppressed cell under a released total forces a second one.
//  2. Rule 1 alone is the classic heuristic and still leaks when suppressed
//     figures form two separate cycles joined by a single figure: that
//     figure follows from the two groups of line equations. So while the
//     suppressed figures, as edges between their row and column, contain
//     such a bridge, the released figure with the fewest respondents that
//     closes a cycle through it is suppressed as well.
// At the end no suppressed figure is a linear function of released ones
// (an edge lies on a cycle exactly when it is undetermined by the line
// sums). Cells that pass the thresholds but are suppressed here report
// kSecondary. Outcomes of mirrored figures in one-dimensional tables (a cell
// and its row total, the column total and the grand total) are identical.
Decision Decide(const Table& table, const DisclosurePolicy& policy,
                bool special_category_group_by);

}  // namespace kring::query

#endif  // KRING_QUERY_DISCLOSURE_H_
