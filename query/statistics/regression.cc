#include "query/statistics/regression.h"

#include <Eigen/Dense>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <set>

#include "util/str_cat.h"

namespace kring::query::statistics {
namespace {

// The design of a cell's regression: the columns kept (numeric ones; per
// categorical predictor the levels that occur, minus the first of them,
// the reference) and every design column's scale factor (dummies 1).
struct Design {
  std::vector<size_t> keep;
  std::vector<double> factor;
};

Design DesignOf(const Layout& layout, const uint64_t* block, CellFigures& out) {
  const Query& q = layout.query();
  Design d;
  size_t col = 0;
  for (const Predictor& p : q.predictors()) {
    if (!p.measure) continue;
    d.factor.push_back(static_cast<double>(p.measure->scale_factor));
    d.keep.push_back(col++);
  }
  d.factor.resize(layout.columns() - 1, 1.0);
  for (const Predictor& p : q.predictors()) {
    if (!p.categorical) continue;
    bool reference = true;
    for (size_t l = 0; l < p.categorical->levels.size(); ++l, ++col) {
      const uint64_t count = block[layout.SumOffset(col)];
      if (count == 0) continue;
      // Every group of a categorical predictor is a population of its own
      // (intercept + its coefficient describe it): the smallest one counts
      // for disclosure control.
      out.Respondents(count);
      if (reference) {
        reference = false;
        continue;
      }
      d.keep.push_back(col);
    }
  }
  return d;
}

constexpr const char* kTooNoisy =
    "regression: the noise that protects pupils is larger than this cell's "
    "figures can bear";

// Least squares from the centred matrix `c` of a cell with n complete
// cases; adds r2, adj_r2 and every coefficient's b, se, t and p.
void Fit(const Layout& layout, const uint64_t* block, uint64_t n,
         const std::vector<std::vector<int128>>& c, const Design& d,
         CellFigures& out) {
  const Measure& outcome = layout.query().measures()[0];
  const size_t y = layout.columns() - 1;
  const auto& keep = d.keep;
  const Eigen::Index kp = static_cast<Eigen::Index>(keep.size());
  auto at = [&](Eigen::Index i) { return keep[static_cast<size_t>(i)]; };
  Eigen::MatrixXd sxx(kp, kp);
  Eigen::VectorXd sxy(kp);
  for (Eigen::Index i = 0; i < kp; ++i) {
    for (Eigen::Index j = 0; j < kp; ++j) sxx(i, j) = D(c[at(i)][at(j)]);
    sxy(i) = D(c[at(i)][y]);
  }
  const double syy = D(c[y][y]);
  if (syy == 0) {
    out.Note("regression: the outcome is constant in this cell");
    return;
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(sxx);
  if (kp > 0 && qr.rank() < kp) {
    out.Note("regression: the predictors are linearly dependent in this cell");
    return;
  }
  if (kp > 0 && sxx.llt().info() != Eigen::Success) {
    // Only noisy sums can get here (exact ones give a positive
    // semidefinite matrix, and a singular one stops above).
    out.Note(kTooNoisy);
    return;
  }
  const Eigen::VectorXd beta = kp > 0 ? qr.solve(sxy) : Eigen::VectorXd();
  const Eigen::MatrixXd inv = kp > 0 ? qr.inverse() : Eigen::MatrixXd(0, 0);
  const double nn = D(n);
  // In scaled units: RSS = (Syy - b'Sxy) / n.
  double rss = syy;
  for (Eigen::Index i = 0; i < kp; ++i) rss -= beta(i) * sxy(i);
  rss /= nn;
  if (rss < 0) rss = 0;
  if (!std::isfinite(rss) || !beta.allFinite() || !inv.allFinite()) {
    out.Note(kTooNoisy);
    return;
  }
  const double df = D(n - (keep.size() + 1));
  const double sigma2 = rss / df;
  const double r2 = syy > 0 ? 1.0 - rss * nn / syy : 0.0;
  out.Add(outcome.id, "r2", r2);
  out.Add(outcome.id, "adj_r2", 1.0 - (1.0 - r2) * (nn - 1.0) / df);
  // Intercept and its variance: sigma2 / n + xbar' Cov(b) xbar, with
  // Cov(b) = sigma2 * n * Sxx^-1.
  std::vector<double> xbar(static_cast<size_t>(kp));
  double b0 = D(block[layout.SumOffset(y)]);
  for (Eigen::Index i = 0; i < kp; ++i) {
    xbar[static_cast<size_t>(i)] = D(block[layout.SumOffset(at(i))]) / nn;
    b0 -= beta(i) * D(block[layout.SumOffset(at(i))]);
  }
  b0 /= nn;
  double var_b0 = sigma2 / nn;
  for (Eigen::Index i = 0; i < kp; ++i) {
    for (Eigen::Index j = 0; j < kp; ++j) {
      var_b0 += xbar[static_cast<size_t>(i)] * xbar[static_cast<size_t>(j)] *
                sigma2 * nn * inv(i, j);
    }
  }
  const double fy = static_cast<double>(outcome.scale_factor);
  auto coefficient = [&](const std::string& name, double b, double se) {
    const std::string key = StrCat(outcome.id, "~", name);
    out.Add(key, "b", b);
    out.Add(key, "se", se);
    if (!(se > 0) || !std::isfinite(se)) return;  // no t or p
    const double t = b / se;
    out.Add(key, "t", t);
    out.Add(key, "p", TwoSidedP(t, df));
  };
  coefficient("intercept", b0 / fy, std::sqrt(var_b0) / fy);
  for (Eigen::Index i = 0; i < kp; ++i) {
    const double f = d.factor[at(i)];
    coefficient(layout.design_names()[at(i)], beta(i) * f / fy,
                std::sqrt(sigma2 * nn * inv(i, i)) * f / fy);
  }
}

// The intercept, every kept coefficient (in units of the outcome per unit
// of the predictor), r2 and adj_r2 of design `d`, from a block read as
// real numbers; NaN when the fit is undefined there.
void FitReal(const Layout& layout, const Design& d,
             std::span<const long double> x, std::vector<long double>& out) {
  using Matrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<long double, Eigen::Dynamic, 1>;
  const auto c = CrossProducts::CentredReal(layout, x);
  const size_t y = layout.columns() - 1;
  const auto kp = static_cast<Eigen::Index>(d.keep.size());
  Matrix sxx(kp, kp);
  Vector sxy(kp);
  for (Eigen::Index i = 0; i < kp; ++i) {
    const size_t ci = d.keep[static_cast<size_t>(i)];
    for (Eigen::Index j = 0; j < kp; ++j) {
      sxx(i, j) = c[ci][d.keep[static_cast<size_t>(j)]];
    }
    sxy(i) = c[ci][y];
  }
  const Vector beta = kp > 0 ? Vector(sxx.ldlt().solve(sxy)) : Vector(0);
  const long double n = x[Layout::kStats];
  const long double fy =
      static_cast<long double>(layout.query().measures()[0].scale_factor);
  long double b0 = x[layout.SumOffset(y)], explained = 0;
  for (Eigen::Index i = 0; i < kp; ++i) {
    b0 -= beta(i) * x[layout.SumOffset(d.keep[static_cast<size_t>(i)])];
    explained += beta(i) * sxy(i);
  }
  out.clear();
  out.push_back(b0 / n / fy);
  for (Eigen::Index i = 0; i < kp; ++i) {
    out.push_back(
        beta(i) *
        static_cast<long double>(d.factor[d.keep[static_cast<size_t>(i)]]) /
        fy);
  }
  const long double r2 = explained / c[y][y];
  const long double df = n - static_cast<long double>(kp + 1);
  out.push_back(r2);
  out.push_back(1 - (1 - r2) * (n - 1) / df);
}

}  // namespace

absl::Status Regression::Check(const Query& query) const {
  if (query.measures().size() != 1) {
    return Invalid(
        "regression needs exactly one measure, the outcome; list the "
        "explanatory variables under `predictors`");
  }
  if (query.spec().predictors().empty()) {
    return Invalid("regression needs at least one predictor");
  }
  return absl::OkStatus();
}

std::string Regression::Describe(const Query& query) const {
  std::vector<std::string> ps;
  for (const Predictor& p : query.predictors()) {
    ps.push_back(p.measure ? p.measure->id
                           : std::string(GroupVarName(p.categorical->var)));
  }
  return StrCat("Linear regression of ", MeasureNames(query), " on ",
                JoinAnd(ps));
}

std::vector<CrossProducts::Column> Regression::Columns(const Query& query,
                                                       CellBlock& block) const {
  // Numeric predictors, then one dummy per level of each categorical
  // predictor; the outcome last.
  std::vector<Column> cols;
  for (const Predictor& p : query.predictors()) {
    if (p.measure) cols.push_back({p.measure->id, p.measure->max_scaled});
  }
  for (const Predictor& p : query.predictors()) {
    if (!p.categorical) continue;
    for (const std::string& level : p.categorical->levels) {
      cols.push_back({StrCat(GroupVarName(p.categorical->var), "=", level), 1});
    }
  }
  for (const Column& c : cols) block.design_names.push_back(c.name);
  const Measure& outcome = query.measures()[0];
  cols.push_back({outcome.id, outcome.max_scaled});
  return cols;
}

bool Regression::Values(const Query& query, const v1::PupilRecord& r,
                        std::string_view municipality,
                        std::span<uint64_t> values) const {
  size_t at = 0;
  for (const Predictor& p : query.predictors()) {
    if (!p.measure) continue;
    std::optional<uint64_t> v = query.ValueOf(*p.measure, r);
    if (!v) return false;
    values[at++] = *v;
  }
  for (const Predictor& p : query.predictors()) {
    if (!p.categorical) continue;
    std::optional<size_t> level =
        query.LevelOf(*p.categorical, r, municipality);
    if (!level) return false;
    for (size_t l = 0; l < p.categorical->levels.size(); ++l) {
      values[at++] = l == *level ? 1 : 0;
    }
  }
  std::optional<uint64_t> y = query.ValueOf(query.measures()[0], r);
  if (!y) return false;
  values[at] = *y;
  return true;
}

absl::Status Regression::DecodeCell(const Layout& layout, const uint64_t* block,
                                    CellResult& cell) const {
  CellFigures out(cell);
  uint64_t n;
  std::vector<std::vector<int128>> c;
  if (auto s = Centred(layout, block, out, n, c); !s.ok()) return s;
  const Design d = DesignOf(layout, block, out);
  out.Add(layout.query().measures()[0].id, "n", D(n));
  if (n <= d.keep.size() + 1) {  // with the intercept
    out.Note(
        "regression: too few complete cases for the number of coefficients");
    return absl::OkStatus();
  }
  // The fit uses the kept columns and the outcome.
  std::vector<size_t> used = d.keep;
  used.push_back(layout.columns() - 1);
  MakePositiveSemidefinite(c, used);
  Fit(layout, block, n, c, d, out);
  return absl::OkStatus();
}

namespace {

// Calls f(col) for the design column of every level of every categorical
// predictor.
template <typename F>
void ForEachLevelColumn(const Layout& layout, F f) {
  const Query& q = layout.query();
  size_t col = 0;
  for (const Predictor& p : q.predictors()) {
    if (p.measure) ++col;
  }
  for (const Predictor& p : q.predictors()) {
    if (!p.categorical) continue;
    for (size_t l = 0; l < p.categorical->levels.size(); ++l) f(col++);
  }
}

constexpr double kLevelNoiseSds = 3.0;

}  // namespace

void Regression::DropNoiseOnlyCounts(const Layout& layout,
                                     const NoisePlan& plan, uint32_t shares,
                                     size_t cell, uint64_t* block) const {
  ForEachLevelColumn(layout, [&](size_t col) {
    const size_t e = layout.SumOffset(col);
    const double sd =
        std::sqrt(plan.NoiseVariance(cell * layout.cell_width() + e, shares));
    if (static_cast<double>(block[e]) <= kLevelNoiseSds * sd) block[e] = 0;
  });
}

// Each coefficient b with sampling SE se and noise SD s: the interval
// b -+ sqrt((t_0.975(df) se)^2 + (1.96 s)^2), and t = b / sqrt(se^2 + s^2).
void Regression::AddNoise(const Layout& layout, const NoisePlan& plan,
                          uint32_t shares, std::span<const uint64_t> sums,
                          CellResult& cell) const {
  const Measure& outcome = layout.query().measures()[0];
  const Figure* n = FindFigure(cell.figures, outcome.id, "n");
  if (n == nullptr || FindFigure(cell.figures, outcome.id, "r2") == nullptr) {
    return;  // no fit in this cell
  }
  const size_t width = layout.cell_width();
  const std::span<const uint64_t> block =
      sums.subspan(cell.cell * width, width);
  CellResult scratch = cell;
  CellFigures scratch_out(scratch);
  const Design d = DesignOf(layout, block.data(), scratch_out);
  const BlockFunction f = [&](std::span<const long double> x,
                              std::vector<long double>& out) {
    FitReal(layout, d, x, out);
  };
  const std::vector<double> sd = DeltaMethodSd(
      f, block, BlockNoiseVariance(layout, plan, shares, cell.cell));
  const double df = n->value - static_cast<double>(d.keep.size() + 1);
  const double tq = boost::math::quantile(boost::math::students_t(df), 0.975);
  std::vector<std::string> names = {"intercept"};
  for (size_t col : d.keep) names.push_back(layout.design_names()[col]);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string key = StrCat(outcome.id, "~", names[i]);
    const Figure* b = FindFigure(cell.figures, key, "b");
    const Figure* se = FindFigure(cell.figures, key, "se");
    if (b == nullptr || se == nullptr || !std::isfinite(sd[i])) continue;
    const double est = b->value, s = se->value, noise = sd[i];
    cell.figures.push_back({key, "noise_sd", noise});
    const double half = std::hypot(tq * s, kZ975 * noise);
    cell.figures.push_back({key, "ci_low", est - half});
    cell.figures.push_back({key, "ci_high", est + half});
    const double total = std::hypot(s, noise);
    if (noise > 0 && total > 0) {
      if (Figure* t = FindFigure(cell.figures, key, "t"))
        t->value = est / total;
      if (Figure* p = FindFigure(cell.figures, key, "p")) {
        p->value = TwoSidedP(est / total, df);
      }
    }
  }
  bool dropped = false;
  ForEachLevelColumn(layout, [&](size_t col) {
    dropped = dropped || block[layout.SumOffset(col)] == 0;
  });
  if (dropped) {
    cell.notes.push_back(
        "regression: a level with too few pupils to tell from the noise "
        "(three noise SDs) has no coefficient; its pupils, if any, count "
        "with the reference level");
  }
  const size_t r2 = names.size();
  if (std::isfinite(sd[r2])) {
    cell.figures.push_back({outcome.id, "noise_sd_r2", sd[r2]});
  }
  if (std::isfinite(sd[r2 + 1])) {
    cell.figures.push_back({outcome.id, "noise_sd_adj_r2", sd[r2 + 1]});
  }
}

}  // namespace kring::query::statistics
