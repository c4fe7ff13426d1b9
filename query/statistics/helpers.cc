#include "query/statistics/helpers.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "util/str_cat.h"

namespace kring::query::statistics {

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("query spec: ", what));
}

std::string JoinAnd(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ");
    out += v[i];
  }
  return out;
}

std::string MeasureNames(const Query& query) {
  const survey::Instrument& ins = query.instrument();
  std::vector<std::string> names;
  for (const Measure& m : query.measures()) {
    names.push_back(m.is_scale ? StrCat(m.scale->name_en, " [", m.id, "]")
                               : StrCat("item ", m.id, " (\"",
                                        ins.items()[m.item].text_en, "\")"));
  }
  return JoinAnd(names);
}

double TwoSidedP(double t, double df) {
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return 0.0;
  boost::math::students_t dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(t)));
}

Wilson WilsonInterval(double k, double n) {
  const double z = boost::math::quantile(boost::math::normal(0.0, 1.0), 0.975);
  const double p = k / n;
  const double denom = 1.0 + z * z / n;
  const double centre = (p + z * z / (2.0 * n)) / denom;
  const double half =
      z / denom * std::sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n));
  return {p, centre - half, centre + half};
}

void CellFigures::Respondents(uint64_t n) {
  cell_.respondents = std::min(cell_.respondents, n);
}

absl::Status CellFigures::CheckRespondents(uint64_t n) const {
  if (n > cell_.records) {
    return absl::InvalidArgumentError(
        StrCat("cell ", cell_.name,
               ": more respondents than records; the summed "
               "vector is not a sum of kring contributions for this query"));
  }
  return absl::OkStatus();
}

void WidenByNoise(double estimate, double noise_sd, double& low, double& high) {
  const double extra = kZ975 * noise_sd;
  low = estimate - std::hypot(estimate - low, extra);
  high = estimate + std::hypot(high - estimate, extra);
}

Wilson NoisyWilsonInterval(double k, double n, double noise_sd) {
  Wilson w = WilsonInterval(k, n);
  if (noise_sd > 0) {
    WidenByNoise(w.p, noise_sd, w.low, w.high);
    w.low = std::max(0.0, w.low);
    w.high = std::min(1.0, w.high);
  }
  return w;
}

bool NoisyFisherInterval(double r, double n, double noise_sd, double& low,
                         double& high) {
  if (1.0 - r * r < 1e-12 || n <= 3) return false;
  const double z = std::atanh(r);
  const double half =
      std::hypot(kZ975 / std::sqrt(n - 3), kZ975 * noise_sd / (1.0 - r * r));
  low = std::tanh(z - half);
  high = std::tanh(z + half);
  return true;
}

const Figure* FindFigure(const std::vector<Figure>& figures,
                         std::string_view measure, std::string_view stat) {
  for (const Figure& f : figures) {
    if (f.measure == measure && f.stat == stat) return &f;
  }
  return nullptr;
}

Figure* FindFigure(std::vector<Figure>& figures, std::string_view measure,
                   std::string_view stat) {
  for (Figure& f : figures) {
    if (f.measure == measure && f.stat == stat) return &f;
  }
  return nullptr;
}

std::vector<double> BlockNoiseVariance(const Layout& layout,
                                       const NoisePlan& plan, uint32_t shares,
                                       size_t cell) {
  const size_t width = layout.cell_width();
  std::vector<double> out(width);
  for (size_t e = 0; e < width; ++e) {
    out[e] = plan.NoiseVariance(cell * width + e, shares);
  }
  return out;
}

std::vector<double> DeltaMethodSd(const BlockFunction& f,
                                  std::span<const uint64_t> block,
                                  std::span<const double> variance) {
  std::vector<long double> x(block.begin(), block.end());
  std::vector<long double> at, up, down;
  f(x, at);
  std::vector<long double> var(at.size(), 0);
  for (size_t e = 0; e < x.size(); ++e) {
    if (!(variance[e] > 0)) continue;
    const long double sd = std::sqrt(static_cast<long double>(variance[e]));
    const long double h = 1e-3L * sd;
    const long double keep = x[e];
    x[e] = keep + h;
    f(x, up);
    x[e] = keep - h;
    f(x, down);
    x[e] = keep;
    for (size_t j = 0; j < at.size(); ++j) {
      const long double slope = (up[j] - down[j]) / (2 * h);
      var[j] += slope * slope * static_cast<long double>(variance[e]);
    }
  }
  std::vector<double> out(at.size());
  for (size_t j = 0; j < at.size(); ++j) {
    out[j] = std::isfinite(at[j]) ? static_cast<double>(std::sqrt(var[j]))
                                  : std::nan("");
  }
  return out;
}

}  // namespace kring::query::statistics
