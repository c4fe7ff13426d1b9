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
  constexpr double kZ = 1.959963984540054;
  const double extra = kZ * noise_sd;
  low = estimate - std::hypot(estimate - low, extra);
  high = estimate + std::hypot(high - estimate, extra);
}

const Figure* FindFigure(const std::vector<Figure>& figures,
                         std::string_view measure, std::string_view stat) {
  for (const Figure& f : figures) {
    if (f.measure == measure && f.stat == stat) return &f;
  }
  return nullptr;
}

}  // namespace kring::query::statistics
