#include "query/noise.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "crypto/random.h"
#include "query/decode.h"
#include "query/privacy.h"
#include "query/statistics/statistic.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

// Each school's noise exceeds its offset somewhere in the vector with
// probability at most 2^-kTailBits.
constexpr int kTailBits = 40;
// A sub-Gaussian tail beyond kRuleZ SDs has probability at most
// exp(-kRuleZ^2 / 2) <= 2^-40.
const double kRuleZ = std::sqrt(2.0 * kTailBits * std::log(2.0));
// The school cap in summed-indicator noise SDs: 1.5 caps >= kRuleZ SDs, so
// a single school passes a threshold of 3 schools only beyond kRuleZ SDs.
constexpr double kCapSds = 5.0;

double ToDouble(const crypto::Rational& r) {
  return static_cast<double>(r.num) / static_cast<double>(r.den);
}

// B with P(|X| > B) <= 2^-kTailBits / dims for X ~ N_Z(0, sigma2): the
// discrete Gaussian is sub-Gaussian with parameter sigma (Canonne, Kamath,
// Steinke 2020), so P(|X| > B) <= 2 exp(-B^2 / (2 sigma2)); solved for B,
// plus one for rounding.
uint64_t TailBound(double sigma2, size_t dims) {
  const double log_terms =
      kTailBits * std::log(2.0) + std::log(2.0 * static_cast<double>(dims));
  return static_cast<uint64_t>(std::ceil(std::sqrt(2.0 * sigma2 * log_terms))) +
         1;
}

}  // namespace

Sensitivity SensitivityOf(const Layout& layout) {
  Sensitivity s;
  s.cells_per_record = size_t{1} << layout.query().groups().size();
  // A record adds at most its per-record maximum to each element of each
  // cell it is in (removing it subtracts as much); the school indicator
  // of a cell moves by at most 1 (the school's only pupil in the cell).
  s.per_element = layout.per_record_max();
  s.per_element[Layout::kSchools] = 1;
  return s;
}

absl::StatusOr<NoisePlan> NoisePlan::Create(const Layout& layout, double rho,
                                            uint32_t min_shares,
                                            uint32_t max_shares) {
  if (!std::isfinite(rho) || rho <= 0) {
    return absl::InvalidArgumentError(
        StrCat("privacy cost rho must be a positive number; got ", rho));
  }
  if (min_shares == 0 || min_shares > max_shares) {
    return absl::InvalidArgumentError(
        StrCat("noise plan: need 1 <= min_shares <= max_shares; got ",
               min_shares, " and ", max_shares));
  }
  const Sensitivity sens = SensitivityOf(layout);
  NoisePlan plan;
  plan.requested_rho_ = rho;
  plan.min_shares_ = min_shares;
  plan.max_shares_ = max_shares;
  plan.cells_ = layout.cell_count();
  plan.width_ = layout.cell_width();
  const std::vector<uint64_t> bounds = layout.NodeBounds();
  plan.data_bound_.assign(bounds.begin(), bounds.begin() + plan.width_);
  // kSchoolsShare of rho for the indicators of the cells one pupil
  // touches, the rest split equally over their other elements.
  const double cells = static_cast<double>(sens.cells_per_record);
  const double others = static_cast<double>(plan.width_ - 1);
  double spent = 0;
  for (size_t e = 0; e < plan.width_; ++e) {
    const double delta = static_cast<double>(sens.per_element[e]);
    const double rho_e = e == Layout::kSchools
                             ? rho * kSchoolsShare / cells
                             : rho * (1 - kSchoolsShare) / (cells * others);
    auto sigma2 =
        privacy::CalibrateShareSigma2(delta, rho_e, min_shares, max_shares);
    if (!sigma2.ok()) return sigma2.status();
    const double s2 = ToDouble(*sigma2);
    plan.share_sigma2_.push_back(*sigma2);
    plan.share_variance_.push_back(privacy::DiscreteGaussianVariance(s2));
    plan.offset_.push_back(TailBound(s2, layout.size()));
    spent += privacy::CoordinateRho(delta, s2, min_shares, max_shares);
    const uint64_t headroom = std::numeric_limits<uint64_t>::max() / 4;
    if (plan.offset_.back() > headroom ||
        plan.data_bound_[e] > headroom - 2 * plan.offset_.back()) {
      return absl::InvalidArgumentError(
          StrCat("noise plan: element \"", layout.element_names()[e],
                 "\" with its noise does not fit 64-bit secure aggregation; "
                 "ask for a larger privacy cost or a simpler query"));
    }
  }
  plan.rho_ = spent * cells;
  plan.school_cap_ = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(
             kCapSds *
             std::sqrt(plan.NoiseVariance(Layout::kSchools, max_shares)))));
  // The indicator's data bound is the cap, not 1 (Layout::NodeBounds).
  plan.data_bound_[Layout::kSchools] = plan.school_cap_;
  if (plan.data_bound_[Layout::kSchools] > (uint64_t{1} << 40)) {
    return absl::InvalidArgumentError(
        "noise plan: the schools rule needs an unreasonably large cap; ask "
        "for a larger privacy cost");
  }
  return plan;
}

double NoisePlan::RuleMargin(uint64_t k, double sd) const {
  const double cap = static_cast<double>(school_cap_);
  return std::max(cap / 2, kRuleZ * sd - cap * (static_cast<double>(k) - 2));
}

uint64_t NoisePlan::SchoolsAtLeast(int64_t noisy, uint32_t shares) const {
  const double sd = std::sqrt(NoiseVariance(Layout::kSchools, shares));
  const double cap = static_cast<double>(school_cap_);
  const double s = static_cast<double>(noisy);
  uint64_t k = 1;
  // The margins grow by less than cap per step, so the test is monotone.
  while (k < shares &&
         s >= cap * static_cast<double>(k) + RuleMargin(k + 1, sd)) {
    ++k;
  }
  return k;
}

double NoisePlan::SchoolsRuleError(uint64_t k, uint32_t shares) const {
  if (k <= 1) return 0;
  const double sd = std::sqrt(NoiseVariance(Layout::kSchools, shares));
  if (sd == 0) return 0;
  const double c = RuleMargin(k, sd);
  return std::exp(-c * c / (2 * sd * sd));
}

std::vector<uint64_t> NoisePlan::NodeBounds() const {
  std::vector<uint64_t> out(cells_ * width_);
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t e = i % width_;
    out[i] = data_bound_[e] + 2 * offset_[e];
  }
  return out;
}

double NoisePlan::NoiseVariance(size_t i, uint32_t shares) const {
  return static_cast<double>(shares) * share_variance_[i % width_];
}

namespace {

class SystemNoiseSource final : public NoiseSource {
 public:
  absl::StatusOr<std::vector<int64_t>> Sample(const crypto::Rational& sigma2,
                                              size_t count) override {
    return crypto::SampleDiscreteGaussians(sigma2, count,
                                           crypto::SystemRandom());
  }
};

}  // namespace

NoiseSource& SystemNoise() {
  static SystemNoiseSource* source = new SystemNoiseSource();
  return *source;
}

absl::StatusOr<std::vector<uint64_t>> NoisyInput(
    const NoisePlan& plan, std::span<const uint64_t> contribution,
    NoiseSource& noise) {
  if (contribution.size() != plan.size()) {
    return absl::InvalidArgumentError(
        StrCat("the contribution has ", contribution.size(),
               " elements; the noise plan has ", plan.size()));
  }
  // All noise is drawn before any of it is added: one vector per cell
  // element (the same share for that element of every cell).
  const size_t width = plan.cell_width();
  const size_t cells = plan.size() / std::max<size_t>(width, 1);
  std::vector<std::vector<int64_t>> noise_of(width);
  for (size_t e = 0; e < width; ++e) {
    auto x = noise.Sample(plan.share_sigma2(e), cells);
    if (!x.ok()) return x.status();
    if (x->size() != cells) {
      return absl::InternalError("the noise source returned too few samples");
    }
    noise_of[e] = *std::move(x);
  }
  std::vector<uint64_t> out(contribution.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t e = i % width;
    const int64_t x = noise_of[e][i / width];
    const uint64_t b = plan.offset(e);
    const uint64_t magnitude = x < 0 ? uint64_t{0} - static_cast<uint64_t>(x)
                                     : static_cast<uint64_t>(x);
    if (magnitude > b) {
      return absl::FailedPreconditionError(
          "a noise sample exceeded its bound (this happens with probability "
          "below 2^-40 and says nothing about the data); the query can be "
          "run again");
    }
    // contribution <= data bound, so the sum stays within NodeBounds.
    out[i] = contribution[i] + b + static_cast<uint64_t>(x);
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> RemoveOffsets(
    const NoisePlan& plan, std::span<const uint64_t> sum, uint32_t shares) {
  if (sum.size() != plan.size()) {
    return absl::InvalidArgumentError(
        StrCat("the summed vector has ", sum.size(),
               " elements; the noise plan has ", plan.size()));
  }
  std::vector<int64_t> out(sum.size());
  for (size_t i = 0; i < out.size(); ++i) {
    // Modular arithmetic: the true signed value is small (bounded by the
    // data bounds and the offsets), so the wrapped difference is exact.
    const uint64_t offsets =
        uint64_t{shares} * plan.offset(i % plan.cell_width());
    out[i] = static_cast<int64_t>(sum[i] - offsets);
  }
  return out;
}

void AddNoiseToResult(const Layout& layout, const NoisePlan& plan,
                      uint32_t shares, Result& result) {
  const statistics::StatisticKind& stat =
      statistics::StatisticFor(layout.query().statistic());
  if (result.sums.size() != layout.size()) return;  // not decoded here
  for (CellResult& cell : result.cells) {
    stat.AddNoise(layout, plan, shares, result.sums, cell);
  }
  stat.AddNoiseToTable(layout, plan, shares, result);
}

}  // namespace kring::query
