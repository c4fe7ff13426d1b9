#include "query/statistics/mean.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "query/statistics/helpers.h"
#include "util/str_cat.h"

namespace kring::query::statistics {

// Per measure: n, sum, sum of squares.
constexpr size_t kStride = 3;

absl::Status Mean::Check(const Query& query) const {
  if (query.measures().empty()) {
    return Invalid(StrCat(name(), " needs at least one measure"));
  }
  return absl::OkStatus();
}

std::string Mean::Describe(const Query& query) const {
  return StrCat("Mean (with SD and 95% CI) of ", MeasureNames(query));
}

void Mean::AddElements(const Query& query, CellBlock& block) const {
  for (const Measure& m : query.measures()) {
    block.Add(StrCat(m.id, " n"), 1);
    block.Add(StrCat(m.id, " sum"), m.max_scaled);
    block.Add(StrCat(m.id, " sum of squares"), m.max_scaled * m.max_scaled);
  }
}

void Mean::AddRecord(const Layout& layout, const v1::PupilRecord& r,
                     std::string_view, std::span<uint64_t> delta) const {
  const Query& q = layout.query();
  size_t at = Layout::kStats;
  for (const Measure& m : q.measures()) {
    if (std::optional<uint64_t> v = q.ValueOf(m, r)) {
      delta[at] = 1;
      delta[at + 1] = *v;
      delta[at + 2] = *v * *v;
    }
    at += kStride;
  }
}

uint64_t Mean::Respondents(const Layout& layout, const uint64_t* block) const {
  uint64_t n = block[Layout::kRecords];
  for (size_t m = 0; m < layout.query().measures().size(); ++m) {
    n = std::min(n, block[Layout::kStats + kStride * m]);
  }
  return n;
}

void Mean::RepairNoisy(const Layout& layout, uint64_t* block) const {
  StatisticKind::RepairNoisy(layout, block);
  size_t at = Layout::kStats;
  for (const Measure& m : layout.query().measures()) {
    const uint64_t n = block[at];
    uint64_t& sx = block[at + 1];
    uint64_t& sxx = block[at + 2];
    at += kStride;
    if (n == 0) {
      sx = sxx = 0;
      continue;
    }
    // n values between the smallest and largest scaled value; their sum
    // of squares at least sum^2 / n (variance >= 0) and at most n * max^2.
    sx = std::clamp(sx, n * m.min_scaled, n * m.max_scaled);
    const int128 least = (int128{sx} * sx + n - 1) / n;
    const uint64_t most = n * m.max_scaled * m.max_scaled;
    sxx = std::clamp<uint64_t>(sxx, static_cast<uint64_t>(least),
                               std::max(most, static_cast<uint64_t>(least)));
  }
}

// mean = S / (N scale): by the delta method its noise variance is
// (Var S / scale^2 + mean^2 Var N) / N^2.
namespace {

// The noise SD of a measure's SD from its block's n, sum and sum of squares
// at `at` (delta method); 0 without noise.
double SdNoiseSd(std::span<const uint64_t> block, std::span<const double> var,
                 size_t at, double scale) {
  const BlockFunction sd = [at, scale](std::span<const long double> x,
                                       std::vector<long double>& out) {
    const long double n = x[at], sx = x[at + 1], sxx = x[at + 2];
    const long double num = n * sxx - sx * sx;
    out.assign(1, n < 2 || num < 0
                      ? std::numeric_limits<long double>::quiet_NaN()
                      : std::sqrt(num / (n * (n - 1))) / scale);
  };
  return DeltaMethodSd(sd, block, var)[0];
}

// An SD whose noise is this large a share of the largest SD its scale
// allows tells nothing; it is withheld (docs/privacy.md).
constexpr double kSdNoiseShare = 0.1;

}  // namespace

void Mean::AddNoise(const Layout& layout, const NoisePlan& plan,
                    uint32_t shares, std::span<const uint64_t> sums,
                    CellResult& cell) const {
  const size_t base = cell.cell * layout.cell_width();
  const std::vector<double> block_var =
      BlockNoiseVariance(layout, plan, shares, cell.cell);
  std::span<const uint64_t> block;
  if (sums.size() >= base + layout.cell_width()) {
    block = sums.subspan(base, layout.cell_width());
  }
  size_t at = Layout::kStats;
  for (const Measure& m : layout.query().measures()) {
    const size_t n_at = base + at;
    const size_t m_at = at;
    at += kStride;
    const Figure* n = FindFigure(cell.figures, m.id, "n");
    const Figure* mean = FindFigure(cell.figures, m.id, "mean");
    if (n == nullptr || mean == nullptr || n->value <= 0) continue;
    const double scale = static_cast<double>(m.scale_factor);
    const double var =
        (plan.NoiseVariance(n_at + 1, shares) / (scale * scale) +
         mean->value * mean->value * plan.NoiseVariance(n_at, shares)) /
        (n->value * n->value);
    const double sd = std::sqrt(var);
    const double n_value = n->value;  // `n` dangles once figures change
    cell.figures.push_back({m.id, "noise_sd", sd});
    if (!(sd > 0)) continue;  // no noise: the sampling interval as decoded
    const double estimate = mean->value;
    for (Figure& f : cell.figures) {
      if (f.measure != m.id) continue;
      if (f.stat == "ci_low") {
        double high = 0;
        WidenByNoise(estimate, sd, f.value, high);
      } else if (f.stat == "ci_high") {
        double low = 0;
        WidenByNoise(estimate, sd, low, f.value);
      }
    }
    const double lo = static_cast<double>(m.min_scaled) / scale;
    const double hi = static_cast<double>(m.max_scaled) / scale;
    // An SD the noise swamps is withheld, and the interval's sampling part
    // then uses the largest SD the scale allows (conservative).
    const double max_sd = (hi - lo) / 2;
    const double sd_noise =
        block.empty() ? 0 : SdNoiseSd(block, block_var, m_at, scale);
    const Figure* sd_figure = FindFigure(cell.figures, m.id, "sd");
    if (sd_figure != nullptr &&
        (!(sd_noise <= kSdNoiseShare * max_sd) || sd_figure->value > max_sd)) {
      std::erase_if(cell.figures, [&](const Figure& f) {
        return f.measure == m.id && f.stat == "sd";
      });
      cell.notes.push_back(StrCat(
          "the SD of ", m.id,
          " is not shown: the noise that protects pupils is too large for "
          "it; its interval assumes the largest SD the scale allows"));
      const double sampling = 1.96 * max_sd / std::sqrt(n_value);
      const double half = std::sqrt(sampling * sampling + 1.96 * 1.96 * var);
      for (Figure& f : cell.figures) {
        if (f.measure != m.id) continue;
        if (f.stat == "ci_low") f.value = estimate - half;
        if (f.stat == "ci_high") f.value = estimate + half;
      }
    } else if (sd_figure != nullptr) {
      cell.figures.push_back({m.id, "noise_sd_sd", sd_noise});
    }
    // A mean lies on its scale; so does every value its interval could hold.
    for (Figure& f : cell.figures) {
      if (f.measure == m.id && (f.stat == "ci_low" || f.stat == "ci_high")) {
        f.value = std::clamp(f.value, lo, hi);
      }
    }
  }
}

absl::Status Mean::DecodeCell(const Layout& layout, const uint64_t* block,
                              CellResult& cell) const {
  CellFigures out(cell);
  size_t at = Layout::kStats;
  for (const Measure& m : layout.query().measures()) {
    const uint64_t n = block[at], sx = block[at + 1], sxx = block[at + 2];
    at += kStride;
    if (auto s = out.CheckRespondents(n); !s.ok()) return s;
    out.Respondents(n);
    out.Add(m.id, "n", D(n));
    if (n == 0) continue;
    const double scale = static_cast<double>(m.scale_factor);
    const double mean = D(sx) / (D(n) * scale);
    out.Add(m.id, "mean", mean);
    if (n < 2) continue;
    const int128 num = Centered(n, sxx, sx, sx);
    if (num < 0) {
      return absl::InvalidArgumentError(
          StrCat("cell ", cell.name, ": inconsistent sums for ", m.id));
    }
    const double sd = std::sqrt(D(num) / (D(n) * D(n - 1))) / scale;
    const double half =
        boost::math::quantile(
            boost::math::students_t(static_cast<double>(n - 1)), 0.975) *
        sd / std::sqrt(D(n));
    out.Add(m.id, "sd", sd);
    out.Add(m.id, "ci_low", mean - half);
    out.Add(m.id, "ci_high", mean + half);
  }
  return absl::OkStatus();
}

}  // namespace kring::query::statistics
