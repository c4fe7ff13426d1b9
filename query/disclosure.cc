#include "query/disclosure.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "util/str_cat.h"

// Secondary suppression (see Decide in disclosure.h).
//
// The table with its margins is an (R+1) x (C+1) grid G: G[r][c] = cell,
// G[r][C] = row total, G[R][c] = column total, G[R][C] = grand total. With
// the margins negated every grid line sums to zero, so "the released
// figures and the line sums" is the incidence system of a bipartite graph
// whose vertices are the R+1 grid rows and C+1 grid columns and whose edges
// are the suppressed figures. The solutions of that system differ by
// circulations (alternating +t/-t around even cycles), so a suppressed
// figure is determined exactly when its edge lies on no cycle, i.e. is a
// bridge. Rule 1 removes vertices of degree 1 (a degree-1 edge is a bridge);
// rule 2 puts any remaining bridge on a cycle by suppressing a released
// figure whose row and column lie on opposite sides of it. After rule 1 has
// converged every non-isolated vertex has degree >= 2, so each side of a
// bridge contains a cycle, hence at least two grid rows and two grid
// columns, and such a figure exists. Everything suppressed is bridgeless,
// so the loop always ends (at worst with the whole grid, a complete
// bipartite graph K(R+1, C+1) with R, C >= 1).
//
// One-dimensional tables: when C == 1 the row totals are the cells and the
// column total is the grand total; when R == 1 likewise. Such mirrored grid
// entries share one *item* (one released value) and are suppressed
// together; the grid's line equations then tie the mirrored copies, so the
// graph argument above still holds.

namespace kring::query {
namespace {

using ::kring::StrCat;

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

bool AddOverflows(uint64_t a, uint64_t b, uint64_t& sum) {
  return __builtin_add_overflow(a, b, &sum);
}

Suppression Primary(const CellStats& s, const CellThresholds& t) {
  if (s.respondents < t.min_respondents) return Suppression::kTooFewRespondents;
  if (s.schools < t.min_schools) return Suppression::kTooFewSchools;
  return Suppression::kReleased;
}

class Suppressor {
 public:
  Suppressor(const Table& table, const CellThresholds& thresholds)
      : rows_(table.rows()),
        cols_(table.cols()),
        grid_cols_(cols_ + 1),
        entries_((rows_ + 1) * grid_cols_),
        item_(entries_),
        stats_(entries_),
        entries_of_(rows_ * cols_ + rows_ + cols_ + 1),
        status_(entries_of_.size(), Suppression::kReleased),
        in_queue_(rows_ + 1 + grid_cols_, false) {
    for (size_t i = 0; i <= rows_; ++i) {
      for (size_t j = 0; j <= cols_; ++j) {
        const size_t e = i * grid_cols_ + j;
        if (i < rows_ && j < cols_) {
          item_[e] = CellItem(i, j);
          stats_[e] = table.cell(i, j);
        } else if (i < rows_) {
          item_[e] = RowTotalItem(i);
          stats_[e] = table.row_total(i);
        } else if (j < cols_) {
          item_[e] = ColTotalItem(j);
          stats_[e] = table.col_total(j);
        } else {
          item_[e] = TotalItem();
          stats_[e] = table.total();
        }
        entries_of_[item_[e]].push_back(e);
      }
    }
    // Mirrored entries have equal stats (Table::Create guarantees it).
    for (size_t item = 0; item < entries_of_.size(); ++item) {
      if (!entries_of_[item].empty()) {
        status_[item] = Primary(stats_[entries_of_[item].front()], thresholds);
      }
    }
  }

  void Run() {
    for (size_t line = 0; line < in_queue_.size(); ++line) Enqueue(line);
    for (;;) {
      // Rule 1: no line with exactly one suppressed figure.
      while (!queue_.empty()) {
        const size_t line = queue_.front();
        queue_.pop_front();
        in_queue_[line] = false;
        size_t unknown = 0;
        std::optional<size_t> best;
        for (size_t e : LineEntries(line)) {
          if (Unknown(e)) {
            ++unknown;
          } else if (!best || Key(e) < Key(*best)) {
            best = e;
          }
        }
        if (unknown == 1 && best) Suppress(item_[*best]);
      }
      // Rule 2: no bridge.
      const std::optional<size_t> bridge = FindBridge();
      if (!bridge) return;
      const std::optional<size_t> closing = ClosingEntry(*bridge);
      if (!closing) {  // unreachable (see the top); stay safe regardless
        for (size_t item = 0; item < status_.size(); ++item) {
          if (!entries_of_[item].empty() &&
              status_[item] == Suppression::kReleased) {
            status_[item] = Suppression::kSecondary;
          }
        }
        return;
      }
      Suppress(item_[*closing]);
    }
  }

  Outcome OutcomeAt(size_t i, size_t j, uint32_t base) const {
    const size_t e = i * grid_cols_ + j;
    Outcome out;
    out.status = status_[item_[e]];
    if (out.released()) {
      out.shown_respondents = RoundToBase(stats_[e].respondents, base);
    }
    return out;
  }

 private:
  // Item ids: cells 0..R*C-1, then row totals, column totals, grand total;
  // mirrored figures of one-dimensional tables reuse one id.
  size_t CellItem(size_t r, size_t c) const { return r * cols_ + c; }
  size_t RowTotalItem(size_t r) const {
    return cols_ == 1 ? CellItem(r, 0) : rows_ * cols_ + r;
  }
  size_t ColTotalItem(size_t c) const {
    return rows_ == 1 ? CellItem(0, c) : rows_ * cols_ + rows_ + c;
  }
  size_t TotalItem() const {
    if (cols_ == 1) return ColTotalItem(0);
    if (rows_ == 1) return RowTotalItem(0);
    return rows_ * cols_ + rows_ + cols_;
  }

  bool Unknown(size_t e) const {
    return status_[item_[e]] != Suppression::kReleased;
  }
  size_t GridRow(size_t e) const { return e / grid_cols_; }
  size_t GridCol(size_t e) const { return e % grid_cols_; }
  bool IsMargin(size_t e) const {
    return GridRow(e) == rows_ || GridCol(e) == cols_;
  }
  // Which released figure to give up: fewest respondents, cells before
  // margins, then grid order.
  std::tuple<uint64_t, bool, size_t> Key(size_t e) const {
    return {stats_[e].respondents, IsMargin(e), e};
  }

  // Lines 0..R are grid rows, R+1..R+1+C grid columns (also the vertex ids
  // of the graph in FindBridge).
  std::vector<size_t> LineEntries(size_t line) const {
    std::vector<size_t> out;
    if (line <= rows_) {
      for (size_t j = 0; j < grid_cols_; ++j)
        out.push_back(line * grid_cols_ + j);
    } else {
      const size_t j = line - (rows_ + 1);
      for (size_t i = 0; i <= rows_; ++i) out.push_back(i * grid_cols_ + j);
    }
    return out;
  }
  size_t RowVertex(size_t e) const { return GridRow(e); }
  size_t ColVertex(size_t e) const { return rows_ + 1 + GridCol(e); }

  void Enqueue(size_t line) {
    if (!in_queue_[line]) {
      in_queue_[line] = true;
      queue_.push_back(line);
    }
  }

  void Suppress(size_t item) {
    status_[item] = Suppression::kSecondary;
    for (size_t e : entries_of_[item]) {
      Enqueue(RowVertex(e));
      Enqueue(ColVertex(e));
    }
  }

  // Adjacency of the graph of suppressed entries: (neighbour, entry).
  std::vector<std::vector<std::pair<size_t, size_t>>> Graph() const {
    std::vector<std::vector<std::pair<size_t, size_t>>> adj(in_queue_.size());
    for (size_t e = 0; e < entries_; ++e) {
      if (!Unknown(e)) continue;
      adj[RowVertex(e)].push_back({ColVertex(e), e});
      adj[ColVertex(e)].push_back({RowVertex(e), e});
    }
    return adj;
  }

  // The first bridge of the graph of suppressed entries (Tarjan's lowlink,
  // iterative), as an entry.
  std::optional<size_t> FindBridge() const {
    const auto adj = Graph();
    const size_t n = adj.size();
    constexpr size_t kUnseen = std::numeric_limits<size_t>::max();
    std::vector<size_t> disc(n, kUnseen), low(n, 0);
    size_t timer = 0;
    struct Frame {
      size_t vertex;
      size_t via;  // entry used to reach the vertex
      size_t next;
    };
    for (size_t start = 0; start < n; ++start) {
      if (disc[start] != kUnseen || adj[start].empty()) continue;
      disc[start] = low[start] = timer++;
      std::vector<Frame> stack = {{start, kUnseen, 0}};
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next < adj[f.vertex].size()) {
          const auto [w, e] = adj[f.vertex][f.next++];
          if (e == f.via) continue;
          if (disc[w] == kUnseen) {
            disc[w] = low[w] = timer++;
            stack.push_back({w, e, 0});  // invalidates f
          } else {
            low[f.vertex] = std::min(low[f.vertex], disc[w]);
          }
          continue;
        }
        const Frame done = f;
        stack.pop_back();
        if (stack.empty()) break;
        const size_t parent = stack.back().vertex;
        low[parent] = std::min(low[parent], low[done.vertex]);
        if (low[done.vertex] > disc[parent]) return done.via;
      }
    }
    return std::nullopt;
  }

  // A released entry whose row and column lie on opposite sides of
  // `bridge`, with the smallest Key.
  std::optional<size_t> ClosingEntry(size_t bridge) const {
    const auto adj = Graph();
    std::vector<int> side(adj.size(), 0);
    auto flood = [&](size_t from, int mark) {
      std::vector<size_t> todo = {from};
      side[from] = mark;
      while (!todo.empty()) {
        const size_t v = todo.back();
        todo.pop_back();
        for (const auto& [w, e] : adj[v]) {
          if (e == bridge || side[w] != 0) continue;
          side[w] = mark;
          todo.push_back(w);
        }
      }
    };
    flood(RowVertex(bridge), 1);
    flood(ColVertex(bridge), 2);
    std::optional<size_t> best;
    for (size_t e = 0; e < entries_; ++e) {
      if (Unknown(e)) continue;
      const int a = side[RowVertex(e)], b = side[ColVertex(e)];
      if (a == 0 || b == 0 || a == b) continue;
      if (!best || Key(e) < Key(*best)) best = e;
    }
    return best;
  }

  const size_t rows_;
  const size_t cols_;
  const size_t grid_cols_;
  const size_t entries_;
  std::vector<size_t> item_;                     // per grid entry
  std::vector<CellStats> stats_;                 // per grid entry
  std::vector<std::vector<size_t>> entries_of_;  // per item
  std::vector<Suppression> status_;              // per item
  std::vector<bool> in_queue_;                   // per line
  std::deque<size_t> queue_;
};

}  // namespace

DisclosurePolicy DisclosurePolicy::Default() {
  return DisclosurePolicy({.min_respondents = 10, .min_schools = 3},
                          {.min_respondents = 20, .min_schools = 5}, 5);
}

absl::StatusOr<DisclosurePolicy> DisclosurePolicy::Create(
    CellThresholds normal, CellThresholds special_category,
    uint32_t rounding_base) {
  if (normal.min_respondents < 1) {
    return Invalid("disclosure policy: min_respondents must be at least 1");
  }
  if (normal.min_schools < 1) {
    return Invalid("disclosure policy: min_schools must be at least 1");
  }
  if (rounding_base < 1) {
    return Invalid(
        "disclosure policy: rounding_base must be at least 1 (1 means no "
        "rounding)");
  }
  if (special_category.min_respondents < normal.min_respondents) {
    return Invalid(
        StrCat("disclosure policy: special-category min_respondents (",
               special_category.min_respondents,
               ") must be at least the normal min_respondents (",
               normal.min_respondents, ")"));
  }
  if (special_category.min_schools < normal.min_schools) {
    return Invalid(StrCat("disclosure policy: special-category min_schools (",
                          special_category.min_schools,
                          ") must be at least the normal min_schools (",
                          normal.min_schools, ")"));
  }
  return DisclosurePolicy(normal, special_category, rounding_base);
}

absl::StatusOr<DisclosurePolicy> DisclosurePolicy::Tighten(
    const DisclosureRequest& request, bool special_category_group_by) const {
  const CellThresholds& applies = ThresholdsFor(special_category_group_by);
  const std::string_view scope =
      special_category_group_by
          ? " for a group-by with a special-category attribute (migration "
            "background or financial strain)"
          : "";
  CellThresholds normal = normal_;
  CellThresholds special = special_;
  uint32_t base = rounding_base_;
  if (request.min_respondents) {
    const uint64_t want = *request.min_respondents;
    if (want < applies.min_respondents) {
      return Invalid(StrCat("requested min_respondents ", want,
                            " is below the policy minimum of ",
                            applies.min_respondents, scope,
                            "; request at least ", applies.min_respondents,
                            " or leave it unset"));
    }
    normal.min_respondents = std::max(normal.min_respondents, want);
    special.min_respondents = std::max(special.min_respondents, want);
  }
  if (request.min_schools) {
    const uint64_t want = *request.min_schools;
    if (want < applies.min_schools) {
      return Invalid(StrCat("requested min_schools ", want,
                            " is below the policy minimum of ",
                            applies.min_schools, scope, "; request at least ",
                            applies.min_schools, " or leave it unset"));
    }
    normal.min_schools = std::max(normal.min_schools, want);
    special.min_schools = std::max(special.min_schools, want);
  }
  if (request.rounding_base) {
    const uint32_t want = *request.rounding_base;
    if (want == 0 || want % rounding_base_ != 0) {
      return Invalid(StrCat("requested rounding_base ", want,
                            " is not a multiple of the policy's base ",
                            rounding_base_,
                            "; request a multiple of it (a coarser base) or "
                            "leave it unset"));
    }
    base = want;
  }
  return DisclosurePolicy(normal, special, base);
}

uint64_t RoundToBase(uint64_t count, uint32_t base) {
  if (base <= 1) return count;
  const uint64_t b = base;
  const uint64_t rest = count % b;
  const uint64_t down = count - rest;
  if (rest < b - rest) return down;  // below the half-way point
  if (down > std::numeric_limits<uint64_t>::max() - b) return down;
  return down + b;
}

absl::StatusOr<Table> Table::Create(
    size_t rows, size_t cols, std::vector<CellStats> cells,
    std::optional<MarginSchools> margin_schools) {
  if (rows == 0 || cols == 0) {
    return Invalid(StrCat("table: needs at least one row and one column, got ",
                          rows, " x ", cols));
  }
  if (rows > kMaxCells || cols > kMaxCells || rows * cols > kMaxCells) {
    return Invalid(StrCat("table: ", rows, " x ", cols,
                          " exceeds the limit of ", kMaxCells,
                          " cells; group by fewer categories"));
  }
  if (cells.size() != rows * cols) {
    return Invalid(StrCat("table: ", rows, " x ", cols, " needs ", rows * cols,
                          " cells (row-major), got ", cells.size()));
  }
  std::vector<CellStats> row_totals(rows), col_totals(cols);
  CellStats total;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const CellStats& s = cells[r * cols + c];
      if (s.schools > s.respondents || (s.respondents > 0 && s.schools == 0)) {
        return Invalid(StrCat(
            "table: cell (", r, ", ", c,
            ") has inconsistent counts: every contributing school has at least "
            "one respondent and every respondent a school"));
      }
      if (AddOverflows(row_totals[r].respondents, s.respondents,
                       row_totals[r].respondents) ||
          AddOverflows(col_totals[c].respondents, s.respondents,
                       col_totals[c].respondents) ||
          AddOverflows(total.respondents, s.respondents, total.respondents)) {
        return Invalid("table: respondent totals overflow 64 bits");
      }
      row_totals[r].schools = std::max(row_totals[r].schools, s.schools);
      col_totals[c].schools = std::max(col_totals[c].schools, s.schools);
      total.schools = std::max(total.schools, s.schools);
    }
  }
  if (margin_schools) {
    const MarginSchools& m = *margin_schools;
    if (m.rows.size() != rows || m.cols.size() != cols) {
      return Invalid(StrCat("table: margin schools need ", rows, " row and ",
                            cols, " column counts, got ", m.rows.size(),
                            " and ", m.cols.size()));
    }
    // A margin's distinct schools lie between the largest and the sum of the
    // counts it covers. Sums of school counts cannot overflow: they are
    // bounded by respondent sums, checked above.
    std::vector<uint64_t> row_sum(rows, 0), col_sum(cols, 0);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols; ++c) {
        row_sum[r] += cells[r * cols + c].schools;
        col_sum[c] += cells[r * cols + c].schools;
      }
    }
    uint64_t rows_max = 0, rows_sum = 0, cols_max = 0, cols_sum = 0;
    for (size_t r = 0; r < rows; ++r) {
      if (m.rows[r] < row_totals[r].schools || m.rows[r] > row_sum[r]) {
        return Invalid(StrCat(
            "table: schools of row total ", r,
            " must lie between the largest and the sum of its cells' schools"));
      }
      rows_max = std::max(rows_max, m.rows[r]);
      rows_sum += m.rows[r];
    }
    for (size_t c = 0; c < cols; ++c) {
      if (m.cols[c] < col_totals[c].schools || m.cols[c] > col_sum[c]) {
        return Invalid(StrCat("table: schools of column total ", c,
                              " must lie between the largest and the sum of "
                              "its cells' schools"));
      }
      cols_max = std::max(cols_max, m.cols[c]);
      cols_sum += m.cols[c];
    }
    if (m.total < std::max(rows_max, cols_max) ||
        m.total > std::min(rows_sum, cols_sum)) {
      return Invalid(
          "table: schools of the grand total must lie between the largest and "
          "the sum of the row totals' schools, and likewise of the column "
          "totals'");
    }
    for (size_t r = 0; r < rows; ++r) row_totals[r].schools = m.rows[r];
    for (size_t c = 0; c < cols; ++c) col_totals[c].schools = m.cols[c];
    total.schools = m.total;
  }
  return Table(rows, cols, std::move(cells), std::move(row_totals),
               std::move(col_totals), total);
}

std::string_view SuppressionCode(Suppression s) {
  switch (s) {
    case Suppression::kReleased:
      return "released";
    case Suppression::kTooFewRespondents:
      return "too_few_respondents";
    case Suppression::kTooFewSchools:
      return "too_few_schools";
    case Suppression::kSecondary:
      return "secondary";
  }
  return "unknown";
}

std::string Explain(Suppression s, const CellThresholds& thresholds) {
  switch (s) {
    case Suppression::kReleased:
      return "released";
    case Suppression::kTooFewRespondents:
      return StrCat(
          "fewer than ", thresholds.min_respondents,
          thresholds.min_respondents == 1 ? " respondent" : " respondents");
    case Suppression::kTooFewSchools:
      return StrCat("fewer than ", thresholds.min_schools,
                    thresholds.min_schools == 1 ? " contributing school"
                                                : " contributing schools");
    case Suppression::kSecondary:
      return "hidden so that another hidden figure cannot be worked out from "
             "the totals";
  }
  return "unknown reason";
}

Decision Decide(const Table& table, const DisclosurePolicy& policy,
                bool special_category_group_by) {
  const CellThresholds& thresholds =
      policy.ThresholdsFor(special_category_group_by);
  Suppressor suppressor(table, thresholds);
  suppressor.Run();

  const size_t rows = table.rows(), cols = table.cols();
  const uint32_t base = policy.rounding_base();
  Decision d;
  d.rows = rows;
  d.cols = cols;
  d.thresholds = thresholds;
  d.rounding_base = base;
  d.cells.reserve(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      d.cells.push_back(suppressor.OutcomeAt(r, c, base));
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    d.row_totals.push_back(suppressor.OutcomeAt(r, cols, base));
  }
  for (size_t c = 0; c < cols; ++c) {
    d.col_totals.push_back(suppressor.OutcomeAt(rows, c, base));
  }
  d.total = suppressor.OutcomeAt(rows, cols, base);
  return d;
}

}  // namespace kring::query
