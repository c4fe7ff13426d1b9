#include "query/statistics/reliability.h"

#include <algorithm>
#include <boost/math/distributions/fisher_f.hpp>
#include <cmath>

#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Reliability::Check(const Query& query) const {
  const std::vector<Measure>& ms = query.measures();
  if (ms.size() != 1 || !ms[0].is_scale) {
    return Invalid("reliability needs exactly one measure, a scale");
  }
  if (ms[0].scale_items.size() < 2) {
    return Invalid(StrCat("reliability needs a scale of at least two items; `",
                          ms[0].id, "` has one"));
  }
  return absl::OkStatus();
}

std::string Reliability::Describe(const Query& query) const {
  return StrCat("Reliability (Cronbach's alpha) of ", MeasureNames(query));
}

std::vector<CrossProducts::Column> Reliability::Columns(const Query& query,
                                                        CellBlock&) const {
  const survey::Instrument& ins = query.instrument();
  std::vector<Column> cols;
  for (size_t i : query.measures()[0].scale_items) {
    cols.push_back({ins.items()[i].id, ins.ResponseScaleOf(i).max_code()});
  }
  return cols;
}

bool Reliability::Values(const Query& query, const v1::PupilRecord& r,
                         std::string_view, std::span<uint64_t> values) const {
  size_t at = 0;
  for (size_t i : query.measures()[0].scale_items) {
    Measure item;
    item.item = i;
    std::optional<uint64_t> v = query.ValueOf(item, r);
    if (!v) return false;
    values[at++] = *v;
  }
  return true;
}

namespace {

// Alpha, then every item's item-rest correlation (NaN where undefined),
// from the centred matrix `c` of the scale's k items.
template <typename T>
void AlphaAndItemRest(const std::vector<std::vector<T>>& c,
                      std::vector<T>& out) {
  const size_t k = c.size();
  T diag = 0, all = 0;
  for (size_t i = 0; i < k; ++i) {
    diag += c[i][i];
    for (size_t j = 0; j < k; ++j) all += c[i][j];
  }
  const T kk = static_cast<T>(k);
  out.push_back(kk / (kk - 1) * (1 - diag / all));
  for (size_t i = 0; i < k; ++i) {
    T cov = 0, rest = 0;
    for (size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      cov += c[i][j];
      for (size_t l = 0; l < k; ++l) {
        if (l != i) rest += c[j][l];
      }
    }
    out.push_back(cov / std::sqrt(c[i][i] * rest));
  }
}

}  // namespace

absl::Status Reliability::DecodeCell(const Layout& layout,
                                     const uint64_t* block,
                                     CellResult& cell) const {
  CellFigures out(cell);
  uint64_t n;
  std::vector<std::vector<int128>> c;
  if (auto s = Centred(layout, block, out, n, c); !s.ok()) return s;
  std::vector<size_t> columns(c.size());
  for (size_t i = 0; i < columns.size(); ++i) columns[i] = i;
  MakePositiveSemidefinite(c, columns);
  const Measure& scale = layout.query().measures()[0];
  const size_t k = c.size();
  out.Add(scale.id, "n", D(n));
  out.Add(scale.id, "k", D(k));
  if (n < 2) return absl::OkStatus();
  int128 diag = 0, all = 0;
  for (size_t i = 0; i < k; ++i) {
    diag += c[i][i];
    for (size_t j = 0; j < k; ++j) all += c[i][j];
  }
  if (all == 0) {
    out.Note(StrCat(scale.id, ": no alpha, the scale total is constant"));
    return absl::OkStatus();
  }
  const double kk = D(k);
  out.Add(scale.id, "alpha", kk / (kk - 1.0) * (1.0 - D(diag) / D(all)));
  const survey::Instrument& ins = layout.query().instrument();
  for (size_t i = 0; i < k; ++i) {
    int128 cov = 0, rest = 0;
    for (size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      cov += c[i][j];
      for (size_t l = 0; l < k; ++l) {
        if (l != i) rest += c[j][l];
      }
    }
    if (c[i][i] == 0 || rest == 0) continue;
    // In [-1, 1] up to rounding (and after RepairNoisy).
    out.Add(ins.items()[scale.scale_items[i]].id, "item_rest_r",
            std::clamp(D(cov) / std::sqrt(D(c[i][i]) * D(rest)), -1.0, 1.0));
  }
  return absl::OkStatus();
}

// Feldt (1965): (1 - alpha_hat) / (1 - alpha) ~ F(n - 1, (n - 1)(k - 1)),
// so [1 - (1 - a) F_0.975, 1 - (1 - a) F_0.025]; each side widened by the
// noise SD (WidenByNoise) and the interval cut at 1.
void Reliability::AddNoise(const Layout& layout, const NoisePlan& plan,
                           uint32_t shares, std::span<const uint64_t> sums,
                           CellResult& cell) const {
  const size_t width = layout.cell_width();
  const BlockFunction f = [&](std::span<const long double> x,
                              std::vector<long double>& out) {
    out.clear();
    AlphaAndItemRest(CentredReal(layout, x), out);
  };
  const std::vector<double> sd =
      DeltaMethodSd(f, sums.subspan(cell.cell * width, width),
                    BlockNoiseVariance(layout, plan, shares, cell.cell));
  const Measure& scale = layout.query().measures()[0];
  const survey::Instrument& ins = layout.query().instrument();
  const Figure* n = FindFigure(cell.figures, scale.id, "n");
  for (size_t i = 0; i < scale.scale_items.size(); ++i) {
    const std::string& item = ins.items()[scale.scale_items[i]].id;
    const Figure* r = FindFigure(cell.figures, item, "item_rest_r");
    if (r == nullptr || !std::isfinite(sd[i + 1])) continue;
    const double rr = r->value;
    cell.figures.push_back({item, "noise_sd", sd[i + 1]});
    double low = 0, high = 0;
    if (n != nullptr &&
        NoisyFisherInterval(rr, n->value, sd[i + 1], low, high)) {
      cell.figures.push_back({item, "ci_low", low});
      cell.figures.push_back({item, "ci_high", high});
    }
  }
  const Figure* alpha = FindFigure(cell.figures, scale.id, "alpha");
  if (alpha == nullptr || n == nullptr || !std::isfinite(sd[0])) return;
  const double a = alpha->value;
  const double df1 = n->value - 1;
  const double df2 = df1 * static_cast<double>(scale.scale_items.size() - 1);
  const boost::math::fisher_f dist(df1, df2);
  double low = 1 - (1 - a) * boost::math::quantile(dist, 0.975);
  double high = 1 - (1 - a) * boost::math::quantile(dist, 0.025);
  WidenByNoise(a, sd[0], low, high);
  cell.figures.push_back({scale.id, "noise_sd", sd[0]});
  cell.figures.push_back({scale.id, "ci_low", std::min(low, 1.0)});
  cell.figures.push_back({scale.id, "ci_high", std::min(high, 1.0)});
}

}  // namespace kring::query::statistics
