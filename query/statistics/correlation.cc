#include "query/statistics/correlation.h"

#include <cmath>

#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Correlation::Check(const Query& query) const {
  if (query.measures().size() < 2) {
    return Invalid("correlation needs at least two measures");
  }
  return absl::OkStatus();
}

std::string Correlation::Describe(const Query& query) const {
  return StrCat("Pearson correlations between ", MeasureNames(query));
}

std::vector<CrossProducts::Column> Correlation::Columns(const Query& query,
                                                        CellBlock&) const {
  std::vector<Column> cols;
  for (const Measure& m : query.measures())
    cols.push_back({m.id, m.max_scaled});
  return cols;
}

bool Correlation::Values(const Query& query, const v1::PupilRecord& r,
                         std::string_view, std::span<uint64_t> values) const {
  size_t at = 0;
  for (const Measure& m : query.measures()) {
    std::optional<uint64_t> v = query.ValueOf(m, r);
    if (!v) return false;
    values[at++] = *v;
  }
  return true;
}

absl::Status Correlation::DecodeCell(const Layout& layout,
                                     const uint64_t* block,
                                     CellResult& cell) const {
  CellFigures out(cell);
  uint64_t n;
  std::vector<std::vector<int128>> c;
  if (auto s = Centred(layout, block, out, n, c); !s.ok()) return s;
  const auto& ms = layout.query().measures();
  for (size_t i = 0; i < ms.size(); ++i) {
    for (size_t j = i + 1; j < ms.size(); ++j) {
      const std::string pair = StrCat(ms[i].id, "~", ms[j].id);
      out.Add(pair, "n", D(n));
      if (n < 3) continue;
      if (c[i][i] == 0 || c[j][j] == 0) {
        out.Note(StrCat(pair, ": no correlation, a measure is constant"));
        continue;
      }
      const double r = D(c[i][j]) / std::sqrt(D(c[i][i]) * D(c[j][j]));
      out.Add(pair, "r", r);
      const double df = D(n - 2);
      const double t = r * std::sqrt(df / ((1.0 - r) * (1.0 + r)));
      out.Add(pair, "p", std::fabs(r) >= 1.0 ? 0.0 : TwoSidedP(t, df));
    }
  }
  return absl::OkStatus();
}

}  // namespace kring::query::statistics
