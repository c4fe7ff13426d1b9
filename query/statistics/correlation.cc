#include "query/statistics/correlation.h"

#include <algorithm>
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
  std::vector<size_t> columns(c.size());
  for (size_t i = 0; i < columns.size(); ++i) columns[i] = i;
  MakePositiveSemidefinite(c, columns);
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
      // In [-1, 1] up to rounding; noisy sums are repaired to a positive
      // semidefinite matrix (CrossProducts::RepairNoisy).
      const double r = std::clamp(
          D(c[i][j]) / std::sqrt(D(c[i][i]) * D(c[j][j])), -1.0, 1.0);
      out.Add(pair, "r", r);
      const double df = D(n - 2);
      const double t = r * std::sqrt(df / ((1.0 - r) * (1.0 + r)));
      out.Add(pair, "p", std::fabs(r) >= 1.0 ? 0.0 : TwoSidedP(t, df));
    }
  }
  return absl::OkStatus();
}

// r = C_xy / sqrt(C_xx C_yy), C = n S_xy - S_x S_y: its noise SD by the
// delta method. The interval: z = atanh(r) with sampling half-width
// 1.96 / sqrt(n - 3) and noise SD sd_r / (1 - r^2), combined as
// sqrt(h^2 + (1.96 sd_z)^2), back through tanh (so within [-1, 1]).
void Correlation::AddNoise(const Layout& layout, const NoisePlan& plan,
                           uint32_t shares, std::span<const uint64_t> sums,
                           CellResult& cell) const {
  const size_t width = layout.cell_width();
  const auto& ms = layout.query().measures();
  const BlockFunction f = [&](std::span<const long double> x,
                              std::vector<long double>& out) {
    const auto c = CentredReal(layout, x);
    out.clear();
    for (size_t i = 0; i < ms.size(); ++i) {
      for (size_t j = i + 1; j < ms.size(); ++j) {
        out.push_back(c[i][j] / std::sqrt(c[i][i] * c[j][j]));
      }
    }
  };
  const std::vector<double> sd =
      DeltaMethodSd(f, sums.subspan(cell.cell * width, width),
                    BlockNoiseVariance(layout, plan, shares, cell.cell));
  size_t at = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    for (size_t j = i + 1; j < ms.size(); ++j, ++at) {
      const std::string pair = StrCat(ms[i].id, "~", ms[j].id);
      Figure* r = FindFigure(cell.figures, pair, "r");
      const Figure* n = FindFigure(cell.figures, pair, "n");
      if (r == nullptr || n == nullptr || !std::isfinite(sd[at])) continue;
      cell.figures.push_back({pair, "noise_sd", sd[at]});
      const double rr = r->value, df = n->value - 2;
      double low = 0, high = 0;
      if (!NoisyFisherInterval(rr, n->value, sd[at], low, high)) continue;
      cell.figures.push_back({pair, "ci_low", low});
      cell.figures.push_back({pair, "ci_high", high});
      if (sd[at] > 0) {
        // t = r / se(r), se(r)^2 = (1 - r^2) / df, plus the noise variance.
        const double se2 = (1.0 - rr * rr) / df;
        Figure* p = FindFigure(cell.figures, pair, "p");
        if (p != nullptr) {
          p->value = TwoSidedP(rr / std::sqrt(se2 + sd[at] * sd[at]), df);
        }
      }
    }
  }
}

}  // namespace kring::query::statistics
