#include "query/decode.h"

#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "util/str_cat.h"

namespace kring::query {
namespace {

// Exact centred sums need more than 64 bits (GCC and Clang extension).
__extension__ typedef __int128 int128;

double D(int128 v) { return static_cast<double>(v); }

// Two-sided p-value of a t statistic.
double TwoSidedP(double t, double df) {
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return 0.0;
  boost::math::students_t dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(t)));
}

// n * sum(xy) - sum(x) * sum(y): n^2 times the covariance numerator, exact.
int128 Centered(uint64_t n, uint64_t sxy, uint64_t sx, uint64_t sy) {
  return static_cast<int128>(n) * sxy -
         static_cast<int128>(sx) * static_cast<int128>(sy);
}

class CellDecoder {
 public:
  CellDecoder(const Layout& layout, const uint64_t* block, CellResult& out)
      : layout_(layout), q_(layout.query()), b_(block), out_(out) {}

  absl::Status Run() {
    switch (q_.statistic()) {
      case Statistic::kCount:
      case Statistic::kCrosstab:
        Add("-", "count", D(out_.records));
        out_.respondents = out_.records;
        return absl::OkStatus();
      case Statistic::kMean:
        return Mean();
      case Statistic::kProportion:
        return Proportion();
      case Statistic::kDistribution:
        return Distribution();
      case Statistic::kCorrelation:
        return Correlation();
      case Statistic::kReliability:
        return Reliability();
      case Statistic::kRegression:
        return Regression();
    }
    return absl::OkStatus();
  }

 private:
  void Add(std::string measure, std::string stat, double v) {
    out_.figures.push_back({std::move(measure), std::move(stat), v});
  }
  void Respondents(uint64_t n) {
    out_.respondents = std::min(out_.respondents, n);
  }
  absl::Status Check(uint64_t n) const {
    if (n > out_.records) {
      return absl::InvalidArgumentError(
          StrCat("cell ", out_.name,
                 ": more respondents than records; the summed "
                 "vector is not a sum of kring contributions for this query"));
    }
    return absl::OkStatus();
  }

  absl::Status Mean() {
    size_t at = Layout::kStats;
    for (const Measure& m : q_.measures()) {
      const uint64_t n = b_[at], sx = b_[at + 1], sxx = b_[at + 2];
      at += 3;
      if (auto s = Check(n); !s.ok()) return s;
      Respondents(n);
      Add(m.id, "n", D(n));
      if (n == 0) continue;
      const double scale = static_cast<double>(m.scale_factor);
      const double mean = D(sx) / (D(n) * scale);
      Add(m.id, "mean", mean);
      if (n < 2) continue;
      const int128 num = Centered(n, sxx, sx, sx);
      if (num < 0) {
        return absl::InvalidArgumentError(
            StrCat("cell ", out_.name, ": inconsistent sums for ", m.id));
      }
      const double sd = std::sqrt(D(num) / (D(n) * D(n - 1))) / scale;
      const double half =
          boost::math::quantile(
              boost::math::students_t(static_cast<double>(n - 1)), 0.975) *
          sd / std::sqrt(D(n));
      Add(m.id, "sd", sd);
      Add(m.id, "ci_low", mean - half);
      Add(m.id, "ci_high", mean + half);
    }
    return absl::OkStatus();
  }

  absl::Status Proportion() {
    size_t at = Layout::kStats;
    const double z =
        boost::math::quantile(boost::math::normal(0.0, 1.0), 0.975);
    for (const Measure& m : q_.measures()) {
      const uint64_t n = b_[at], k = b_[at + 1];
      at += 2;
      if (auto s = Check(n); !s.ok()) return s;
      if (k > n) return absl::InvalidArgumentError("more cases than n");
      Respondents(n);
      Add(m.id, "n", D(n));
      if (n == 0) continue;
      Add(m.id, "k", D(k));
      const double p = D(k) / D(n), nn = D(n);
      // Wilson score interval.
      const double denom = 1.0 + z * z / nn;
      const double centre = (p + z * z / (2.0 * nn)) / denom;
      const double half =
          z / denom * std::sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn));
      Add(m.id, "p", p);
      Add(m.id, "ci_low", centre - half);
      Add(m.id, "ci_high", centre + half);
    }
    return absl::OkStatus();
  }

  absl::Status Distribution() {
    const survey::Instrument& ins = q_.instrument();
    for (size_t mi = 0; mi < q_.measures().size(); ++mi) {
      const Measure& m = q_.measures()[mi];
      const auto& options = ins.ResponseScaleOf(m.item).options;
      const size_t at = layout_.DistributionOffset(mi);
      uint64_t n = 0;
      for (size_t o = 0; o < options.size(); ++o) n += b_[at + o];
      if (auto s = Check(n); !s.ok()) return s;
      Respondents(n);
      Add(m.id, "n", D(n));
      for (size_t o = 0; o < options.size(); ++o) {
        Add(m.id, StrCat("count_", options[o].code), D(b_[at + o]));
        if (n > 0) {
          Add(m.id, StrCat("share_", options[o].code), D(b_[at + o]) / D(n));
        }
      }
    }
    return absl::OkStatus();
  }

  // The cross-product block: n and the exact centred matrix C (n^2 times
  // the covariance matrix) of its columns.
  absl::Status Cross(uint64_t& n, std::vector<std::vector<int128>>& c) {
    n = b_[Layout::kStats];
    if (auto s = Check(n); !s.ok()) return s;
    const size_t k = layout_.columns();
    c.assign(k, std::vector<int128>(k));
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = i; j < k; ++j) {
        c[i][j] = c[j][i] =
            Centered(n, b_[layout_.ProductOffset(i, j)],
                     b_[layout_.SumOffset(i)], b_[layout_.SumOffset(j)]);
      }
      if (c[i][i] < 0) {
        return absl::InvalidArgumentError(
            StrCat("cell ", out_.name, ": inconsistent sums of squares"));
      }
    }
    Respondents(n);
    return absl::OkStatus();
  }

  absl::Status Correlation() {
    uint64_t n;
    std::vector<std::vector<int128>> c;
    if (auto s = Cross(n, c); !s.ok()) return s;
    const auto& ms = q_.measures();
    for (size_t i = 0; i < ms.size(); ++i) {
      for (size_t j = i + 1; j < ms.size(); ++j) {
        const std::string pair = StrCat(ms[i].id, "~", ms[j].id);
        Add(pair, "n", D(n));
        if (n < 3) continue;
        if (c[i][i] == 0 || c[j][j] == 0) {
          out_.notes.push_back(
              StrCat(pair, ": no correlation, a measure is constant"));
          continue;
        }
        const double r = D(c[i][j]) / std::sqrt(D(c[i][i]) * D(c[j][j]));
        Add(pair, "r", r);
        const double df = D(n - 2);
        const double t = r * std::sqrt(df / ((1.0 - r) * (1.0 + r)));
        Add(pair, "p", std::fabs(r) >= 1.0 ? 0.0 : TwoSidedP(t, df));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Reliability() {
    uint64_t n;
    std::vector<std::vector<int128>> c;
    if (auto s = Cross(n, c); !s.ok()) return s;
    const Measure& scale = q_.measures()[0];
    const size_t k = c.size();
    Add(scale.id, "n", D(n));
    Add(scale.id, "k", D(k));
    if (n < 2) return absl::OkStatus();
    int128 diag = 0, all = 0;
    for (size_t i = 0; i < k; ++i) {
      diag += c[i][i];
      for (size_t j = 0; j < k; ++j) all += c[i][j];
    }
    if (all == 0) {
      out_.notes.push_back(
          StrCat(scale.id, ": no alpha, the scale total is constant"));
      return absl::OkStatus();
    }
    const double kk = D(k);
    Add(scale.id, "alpha", kk / (kk - 1.0) * (1.0 - D(diag) / D(all)));
    const survey::Instrument& ins = q_.instrument();
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
      Add(ins.items()[scale.scale_items[i]].id, "item_rest_r",
          D(cov) / std::sqrt(D(c[i][i]) * D(rest)));
    }
    return absl::OkStatus();
  }

  absl::Status Regression() {
    uint64_t n;
    std::vector<std::vector<int128>> c;
    if (auto s = Cross(n, c); !s.ok()) return s;
    const Measure& outcome = q_.measures()[0];
    const size_t y = layout_.columns() - 1;
    // Scale factor of each design column (dummies 1).
    std::vector<double> factor;
    for (const Predictor& p : q_.predictors()) {
      if (p.measure)
        factor.push_back(static_cast<double>(p.measure->scale_factor));
    }
    // Keep numeric columns; per categorical, the levels that occur, minus
    // the first of them (the reference).
    std::vector<size_t> keep;
    size_t col = 0;
    for (const Predictor& p : q_.predictors()) {
      if (p.measure) keep.push_back(col++);
    }
    for (const Predictor& p : q_.predictors()) {
      if (!p.categorical) continue;
      bool reference = true;
      for (size_t l = 0; l < p.categorical->levels.size(); ++l, ++col) {
        if (b_[layout_.SumOffset(col)] == 0) continue;
        if (reference) {
          reference = false;
          continue;
        }
        keep.push_back(col);
      }
    }
    factor.resize(layout_.columns() - 1, 1.0);
    // Every group of a categorical predictor is a population of its own
    // (intercept + its coefficient describe it): the smallest one counts
    // for disclosure control.
    col = 0;
    for (const Predictor& p : q_.predictors()) {
      if (p.measure) ++col;
    }
    for (const Predictor& p : q_.predictors()) {
      if (!p.categorical) continue;
      for (size_t l = 0; l < p.categorical->levels.size(); ++l, ++col) {
        const uint64_t count = b_[layout_.SumOffset(col)];
        if (count > 0) Respondents(count);
      }
    }
    const double fy = static_cast<double>(outcome.scale_factor);
    const size_t p = keep.size() + 1;  // with the intercept
    Add(outcome.id, "n", D(n));
    if (n <= p) {
      out_.notes.push_back(
          "regression: too few complete cases for the number of coefficients");
      return absl::OkStatus();
    }
    const Eigen::Index kp = static_cast<Eigen::Index>(keep.size());
    Eigen::MatrixXd sxx(kp, kp);
    Eigen::VectorXd sxy(kp);
    for (Eigen::Index i = 0; i < kp; ++i) {
      for (Eigen::Index j = 0; j < kp; ++j) {
        sxx(i, j) =
            D(c[keep[static_cast<size_t>(i)]][keep[static_cast<size_t>(j)]]);
      }
      sxy(i) = D(c[keep[static_cast<size_t>(i)]][y]);
    }
    const double syy = D(c[y][y]);
    if (syy == 0) {
      out_.notes.push_back("regression: the outcome is constant in this cell");
      return absl::OkStatus();
    }
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(sxx);
    if (kp > 0 && qr.rank() < kp) {
      out_.notes.push_back(
          "regression: the predictors are linearly dependent in this cell");
      return absl::OkStatus();
    }
    const Eigen::VectorXd beta = kp > 0 ? qr.solve(sxy) : Eigen::VectorXd();
    const Eigen::MatrixXd inv = kp > 0 ? qr.inverse() : Eigen::MatrixXd(0, 0);
    const double nn = D(n);
    // In scaled units: RSS = (Syy - b'Sxy) / n.
    double rss = syy;
    for (Eigen::Index i = 0; i < kp; ++i) rss -= beta(i) * sxy(i);
    rss /= nn;
    if (rss < 0) rss = 0;
    const double df = D(n - p);
    const double sigma2 = rss / df;
    const double r2 = syy > 0 ? 1.0 - rss * nn / syy : 0.0;
    Add(outcome.id, "r2", r2);
    Add(outcome.id, "adj_r2", 1.0 - (1.0 - r2) * (nn - 1.0) / df);
    // Intercept and its variance: sigma2 / n + xbar' Cov(b) xbar, with
    // Cov(b) = sigma2 * n * Sxx^-1.
    std::vector<double> xbar(static_cast<size_t>(kp));
    double b0 = D(b_[layout_.SumOffset(y)]);
    for (Eigen::Index i = 0; i < kp; ++i) {
      xbar[static_cast<size_t>(i)] =
          D(b_[layout_.SumOffset(keep[static_cast<size_t>(i)])]) / nn;
      b0 -= beta(i) * D(b_[layout_.SumOffset(keep[static_cast<size_t>(i)])]);
    }
    b0 /= nn;
    double var_b0 = sigma2 / nn;
    for (Eigen::Index i = 0; i < kp; ++i) {
      for (Eigen::Index j = 0; j < kp; ++j) {
        var_b0 += xbar[static_cast<size_t>(i)] * xbar[static_cast<size_t>(j)] *
                  sigma2 * nn * inv(i, j);
      }
    }
    auto coefficient = [&](const std::string& name, double b, double se) {
      const std::string key = StrCat(outcome.id, "~", name);
      Add(key, "b", b);
      Add(key, "se", se);
      if (!(se > 0) || !std::isfinite(se)) return;  // no t or p
      const double t = b / se;
      Add(key, "t", t);
      Add(key, "p", TwoSidedP(t, df));
    };
    coefficient("intercept", b0 / fy, std::sqrt(var_b0) / fy);
    for (Eigen::Index i = 0; i < kp; ++i) {
      const size_t column = keep[static_cast<size_t>(i)];
      const double f = factor[column];
      coefficient(layout_.design_names()[column], beta(i) * f / fy,
                  std::sqrt(sigma2 * nn * inv(i, i)) * f / fy);
    }
    return absl::OkStatus();
  }

  const Layout& layout_;
  const Query& q_;
  const uint64_t* b_;
  CellResult& out_;
};

// The crosstab's chi-square test of independence over its inner cells,
// leaving out empty rows and columns.
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

std::map<std::string, double> Result::Flat() const {
  std::map<std::string, double> out;
  for (const CellResult& c : cells) {
    for (const Figure& f : c.figures) {
      out[StrCat(c.name, "|", f.measure, "|", f.stat)] = f.value;
    }
  }
  for (const Figure& f : table) {
    out[StrCat("all|", f.measure, "|", f.stat)] = f.value;
  }
  return out;
}

absl::StatusOr<Result> Decode(const Layout& layout,
                              std::span<const uint64_t> sum) {
  if (sum.size() != layout.size()) {
    return absl::InvalidArgumentError(StrCat("the summed vector has ",
                                             sum.size(),
                                             " elements; the query's "
                                             "layout has ",
                                             layout.size()));
  }
  const Query& q = layout.query();
  Result result;
  result.cells.resize(layout.cell_count());
  for (size_t c = 0; c < layout.cell_count(); ++c) {
    CellResult& cell = result.cells[c];
    const uint64_t* block = &sum[c * layout.cell_width()];
    cell.cell = c;
    cell.levels = layout.CellLevels(c);
    cell.name = layout.CellName(c);
    cell.is_margin = std::any_of(cell.levels.begin(), cell.levels.end(),
                                 [](int l) { return l == kMargin; });
    cell.records = block[Layout::kRecords];
    cell.schools = block[Layout::kSchools];
    cell.respondents = cell.records;
    if (cell.schools > cell.records) {
      return absl::InvalidArgumentError(
          StrCat("cell ", cell.name,
                 ": more schools than records; the summed "
                 "vector is not a sum of kring contributions for this query"));
    }
    if (cell.records == 0) {
      cell.respondents = 0;
      continue;
    }
    CellDecoder decoder(layout, block, cell);
    if (auto s = decoder.Run(); !s.ok()) return s;
  }
  if (q.statistic() == Statistic::kCrosstab) {
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
  return result;
}

}  // namespace kring::query
