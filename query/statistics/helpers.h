#ifndef KRING_QUERY_STATISTICS_HELPERS_H_
#define KRING_QUERY_STATISTICS_HELPERS_H_

// Small pieces the statistic classes share: spec errors, summary text,
// exact centred sums, p-values, the Wilson interval and writing a cell's
// figures. Internal to kring::query.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "query/decode.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"

namespace kring::query::statistics {

// INVALID_ARGUMENT "query spec: <what>".
absl::Status Invalid(std::string_view what);

// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& v);
// The query's measures for a summary, joined: "item ST034Q01 (\"...\") and
// Belonging [belong_perception]".
std::string MeasureNames(const Query& query);

// Exact centred sums need more than 64 bits (GCC and Clang extension).
__extension__ typedef __int128 int128;

inline double D(int128 v) { return static_cast<double>(v); }

// n * sum(xy) - sum(x) * sum(y): n^2 times the covariance numerator, exact.
inline int128 Centered(uint64_t n, uint64_t sxy, uint64_t sx, uint64_t sy) {
  return static_cast<int128>(n) * sxy -
         static_cast<int128>(sx) * static_cast<int128>(sy);
}

// Two-sided p-value of a t statistic with `df` degrees of freedom.
double TwoSidedP(double t, double df);

// A share k / n with its 95% Wilson score interval (n > 0).
struct Wilson {
  double p = 0;
  double low = 0;
  double high = 0;
};
Wilson WilsonInterval(double k, double n);
// The Wilson interval of k of n widened by noise of SD `noise_sd`
// (WidenByNoise) and kept in [0, 1] (n > 0).
Wilson NoisyWilsonInterval(double k, double n, double noise_sd);

// Writes the figures of one cell. Refers to `cell`, which must outlive it.
// Widens [low, high] around `estimate` by noise of SD `noise_sd`: each
// half-width h becomes sqrt(h^2 + (z * noise_sd)^2), z the 97.5% normal
// quantile (the noise and the sampling error are independent).
void WidenByNoise(double estimate, double noise_sd, double& low, double& high);

// The 95% Fisher z interval of a correlation r over n pupils, widened by
// noise of SD `noise_sd` on r (on the z scale: noise_sd / (1 - r^2)):
// tanh(atanh(r) -+ sqrt((z/sqrt(n-3))^2 + (z noise_sd/(1-r^2))^2)). False
// (and nothing set) when n <= 3 or |r| is 1.
bool NoisyFisherInterval(double r, double n, double noise_sd, double& low,
                         double& high);

// The 97.5% quantile of the standard normal distribution.
inline constexpr double kZ975 = 1.959963984540054;

// The value of figure (measure, stat) in `figures`, or nullptr.
const Figure* FindFigure(const std::vector<Figure>& figures,
                         std::string_view measure, std::string_view stat);
Figure* FindFigure(std::vector<Figure>& figures, std::string_view measure,
                   std::string_view stat);

// The variance of the summed noise on each element of cell `cell`'s block
// (layout.cell_width() values; 0 everywhere when `shares` is 0).
std::vector<double> BlockNoiseVariance(const Layout& layout,
                                       const NoisePlan& plan, uint32_t shares,
                                       size_t cell);

// Figures computed from a cell block read as real numbers: writes them to
// `out` (the same number each call; NaN where one is undefined).
using BlockFunction = std::function<void(std::span<const long double> x,
                                         std::vector<long double>& out)>;

// Delta-method noise SDs of the figures `f` computes from `block`, whose
// elements carry independent noise of variances `variance`:
// SD_j = sqrt(sum_e (d f_j / d x_e)^2 variance[e]), the derivatives by
// central differences (step 1e-3 noise SDs, in long double). NaN for a
// figure undefined at or next to `block`. Elements without noise are not
// differentiated, so with no noise every SD is 0.
std::vector<double> DeltaMethodSd(const BlockFunction& f,
                                  std::span<const uint64_t> block,
                                  std::span<const double> variance);

class CellFigures {
 public:
  explicit CellFigures(CellResult& cell) : cell_(cell) {}

  const CellResult& cell() const { return cell_; }
  void Add(std::string measure, std::string stat, double value) {
    cell_.figures.push_back({std::move(measure), std::move(stat), value});
  }
  void Note(std::string note) { cell_.notes.push_back(std::move(note)); }
  // Lowers the cell's respondents to `n` if fewer.
  void Respondents(uint64_t n);
  // INVALID_ARGUMENT if `n` respondents exceed the cell's records.
  absl::Status CheckRespondents(uint64_t n) const;

 private:
  CellResult& cell_;
};

}  // namespace kring::query::statistics

#endif  // KRING_QUERY_STATISTICS_HELPERS_H_
