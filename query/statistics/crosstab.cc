#include "query/statistics/crosstab.h"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {
namespace {

// The inner cells' counts with their row and column totals.
struct Table {
  std::vector<std::vector<double>> o;
  std::vector<double> row_total, col_total;
  double total = 0;
  size_t nonempty_rows = 0, nonempty_cols = 0;
};

Table InnerTable(const Layout& layout, std::span<const uint64_t> sum) {
  const Query& q = layout.query();
  const size_t rows = q.groups()[0].levels.size();
  const size_t cols = q.groups()[1].levels.size();
  Table t;
  t.row_total.resize(rows);
  t.col_total.resize(cols);
  t.o.assign(rows, std::vector<double>(cols));
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const int levels[] = {static_cast<int>(r), static_cast<int>(c)};
      t.o[r][c] = static_cast<double>(
          sum[layout.CellIndex(levels) * layout.cell_width() +
              Layout::kRecords]);
      t.row_total[r] += t.o[r][c];
      t.col_total[c] += t.o[r][c];
      t.total += t.o[r][c];
    }
  }
  for (double v : t.row_total) t.nonempty_rows += v > 0;
  for (double v : t.col_total) t.nonempty_cols += v > 0;
  return t;
}

// The chi-square test of independence over the inner cells, leaving out
// empty rows and columns.
void ChiSquare(const Layout& layout, std::span<const uint64_t> sum,
               Result& result) {
  const Table t = InnerTable(layout, sum);
  const auto& o = t.o;
  const auto& row_total = t.row_total;
  const auto& col_total = t.col_total;
  const double total = t.total;
  const size_t rows = o.size(), cols = col_total.size();
  const size_t nr = t.nonempty_rows, nc = t.nonempty_cols;
  if (nr < 2 || nc < 2) return;
  double chi2 = 0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      if (row_total[r] == 0 || col_total[c] == 0) continue;
      const double e = row_total[r] * col_total[c] / total;
      chi2 += (o[r][c] - e) * (o[r][c] - e) / e;
    }
  }
  const double df = static_cast<double>((nr - 1) * (nc - 1));
  result.table.push_back({"-", "chi2", chi2});
  result.table.push_back({"-", "df", df});
  result.table.push_back({"-", "p",
                          boost::math::cdf(boost::math::complement(
                              boost::math::chi_squared(df), chi2))});
}

}  // namespace

absl::Status Crosstab::Check(const Query& query) const {
  if (!query.measures().empty()) {
    return Invalid(StrCat(name(), " counts pupils and takes no measures"));
  }
  if (query.groups().size() != 2) {
    return Invalid(
        "a crosstab needs exactly two groupBy variables (rows and columns)");
  }
  return absl::OkStatus();
}

std::string Crosstab::Describe(const Query&) const {
  return "Cross-table of pupil counts";
}

std::string Crosstab::GroupPhrase(const std::vector<std::string>& by) const {
  return StrCat(" of ", by[0], " by ", by[1]);
}

absl::Status Crosstab::DecodeCell(const Layout&, const uint64_t*,
                                  CellResult& cell) const {
  CellFigures(cell).Add("-", "count", static_cast<double>(cell.records));
  cell.respondents = cell.records;
  return absl::OkStatus();
}

void Crosstab::DecodeTable(const Layout& layout, std::span<const uint64_t> sum,
                           Result& result) const {
  // Row shares of the inner cells: count / the row's margin.
  for (CellResult& cell : result.cells) {
    if (cell.is_margin || cell.records == 0) continue;
    const int row_margin[] = {cell.levels[0], kMargin};
    const uint64_t row = result.cells[layout.CellIndex(row_margin)].records;
    if (row == 0) continue;
    // At most 1: noise can leave a cell above its row's margin.
    cell.figures.push_back({"-", "row_share",
                            std::min(1.0, static_cast<double>(cell.records) /
                                              static_cast<double>(row))});
  }
  ChiSquare(layout, sum, result);
}

void Crosstab::AddNoise(const Layout& layout, const NoisePlan& plan,
                        uint32_t shares, std::span<const uint64_t> sums,
                        CellResult& cell) const {
  const size_t width = layout.cell_width();
  const double var_c =
      plan.NoiseVariance(cell.cell * width + Layout::kRecords, shares);
  if (FindFigure(cell.figures, "-", "count") != nullptr) {
    cell.figures.push_back({"-", "noise_sd", std::sqrt(var_c)});
  }
  const Figure* share = FindFigure(cell.figures, "-", "row_share");
  if (share == nullptr) return;
  // row_share = c / m, c and m with independent noise (the margin's own):
  // Var = (Var c + p^2 Var m) / m^2.
  const int row_margin[] = {cell.levels[0], kMargin};
  const size_t margin = layout.CellIndex(row_margin) * width + Layout::kRecords;
  const double m = static_cast<double>(sums[margin]);
  const double p = share->value;
  cell.figures.push_back(
      {"-", "noise_sd_row_share",
       std::sqrt(var_c + p * p * plan.NoiseVariance(margin, shares)) / m});
}

void Crosstab::AddNoiseToTable(const Layout& layout, const NoisePlan& plan,
                               uint32_t shares, Result& result) const {
  const Figure* chi2 = FindFigure(result.table, "-", "chi2");
  const Figure* df = FindFigure(result.table, "-", "df");
  Figure* p = FindFigure(result.table, "-", "p");
  if (chi2 == nullptr || df == nullptr || p == nullptr) return;
  // Every inner count carries the same noise variance (one element kind).
  const double var = plan.NoiseVariance(Layout::kRecords, shares);
  const Table t = InnerTable(layout, result.sums);
  double least = 0;
  for (double r : t.row_total) {
    for (double c : t.col_total) {
      if (r == 0 || c == 0) continue;
      const double e = r * c / t.total;
      least = least == 0 ? e : std::min(least, e);
    }
  }
  const double factor = least > 0 ? 1.0 + var / least : 1.0;
  result.table.push_back({"-", "noise_factor", factor});
  if (factor > 1.0) {
    p->value = boost::math::cdf(boost::math::complement(
        boost::math::chi_squared(df->value), chi2->value / factor));
  }
}

void Crosstab::ReleaseAcrossCells(const Layout& layout, const Result& result,
                                  ReleasedResult& released) const {
  for (size_t i = 0; i < released.cells.size(); ++i) {
    ReleasedCell& rc = released.cells[i];
    if (rc.is_margin || !rc.shown_respondents) continue;
    std::erase_if(rc.figures, [](const Figure& f) {
      return f.stat == "row_share" || f.stat == "noise_sd_row_share";
    });
    const ReleasedCell& margin = released.cells[layout.CellIndex(
        std::vector<int>{result.cells[i].levels[0], kMargin})];
    if (margin.status == Suppression::kReleased && margin.shown_respondents &&
        *margin.shown_respondents > 0) {
      // From the rounded counts, like every shown share.
      const double c = static_cast<double>(*rc.shown_respondents);
      const double m = static_cast<double>(*margin.shown_respondents);
      rc.figures.push_back({"-", "row_share", std::min(1.0, c / m)});
      // Its noise SD from the counts' noise SDs, like AddNoise.
      const Figure* sd_c = FindFigure(result.cells[i].figures, "-", "noise_sd");
      const Figure* sd_m =
          FindFigure(result
                         .cells[layout.CellIndex(std::vector<int>{
                             result.cells[i].levels[0], kMargin})]
                         .figures,
                     "-", "noise_sd");
      if (sd_c != nullptr && sd_m != nullptr) {
        const double p = std::min(1.0, c / m);
        rc.figures.push_back({"-", "noise_sd_row_share",
                              std::hypot(sd_c->value, p * sd_m->value) / m});
      }
    }
  }
}

}  // namespace kring::query::statistics
