#include "query/statistics/crosstab.h"

#include <boost/math/distributions/chi_squared.hpp>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {
namespace {

// The chi-square test of independence over the inner cells, leaving out
// empty rows and columns.
void ChiSquare(const Layout& layout, std::span<const uint64_t> sum,
               Result& result) {
  const Query& q = layout.query();
  const size_t rows = q.groups()[0].levels.size();
  const size_t cols = q.groups()[1].levels.size();
  std::vector<double> row_total(rows), col_total(cols);
  std::vector<std::vector<double>> o(rows, std::vector<double>(cols));
  double total = 0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const int levels[] = {static_cast<int>(r), static_cast<int>(c)};
      o[r][c] = static_cast<double>(
          sum[layout.CellIndex(levels) * layout.cell_width() +
              Layout::kRecords]);
      row_total[r] += o[r][c];
      col_total[c] += o[r][c];
      total += o[r][c];
    }
  }
  size_t nr = 0, nc = 0;
  for (double v : row_total) nr += v > 0;
  for (double v : col_total) nc += v > 0;
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
    cell.figures.push_back(
        {"-", "row_share",
         static_cast<double>(cell.records) / static_cast<double>(row)});
  }
  ChiSquare(layout, sum, result);
}

void Crosstab::ReleaseAcrossCells(const Layout& layout, const Result& result,
                                  ReleasedResult& released) const {
  for (size_t i = 0; i < released.cells.size(); ++i) {
    ReleasedCell& rc = released.cells[i];
    if (rc.is_margin || !rc.shown_respondents) continue;
    std::erase_if(rc.figures,
                  [](const Figure& f) { return f.stat == "row_share"; });
    const ReleasedCell& margin = released.cells[layout.CellIndex(
        std::vector<int>{result.cells[i].levels[0], kMargin})];
    if (margin.status == Suppression::kReleased && margin.shown_respondents &&
        *margin.shown_respondents > 0) {
      // From the rounded counts, like every shown share.
      rc.figures.push_back(
          {"-", "row_share",
           static_cast<double>(*rc.shown_respondents) /
               static_cast<double>(*margin.shown_respondents)});
    }
  }
}

}  // namespace kring::query::statistics
