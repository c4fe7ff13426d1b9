#ifndef KRING_QUERY_NOISE_H_
#define KRING_QUERY_NOISE_H_

// The noise each school adds to its vector before masking (distributed
// differential privacy; docs/privacy.md has the argument):
//
//  * Sensitivity: adding or removing one pupil changes a school's vector
//    in the 2^groups cells the pupil is counted in (each group variable at
//    its level or its margin), each cell-block element e by at most
//    per_record_max[e] (the "school contributes" indicator by 1).
//  * Each school adds, per element, an independent discrete Gaussian
//    N_Z(0, s_e^2) (crypto/noise.h). The per-element share s_e^2 is
//    calibrated so that any `min_shares` schools together give zCDP rho_e:
//    the "school contributes" indicators of the cells a pupil touches get
//    kSchoolsShare of rho, the other elements the rest in equal parts; the
//    spent rho is the sum of the per-element bounds (query/privacy.h).
//  * The schools rule (docs/privacy.md, "The schools rule"): a school's
//    indicator in a cell is min(respondents, school_cap) rather than 0/1,
//    so one pupil moves it by at most 1 while a school counts as a whole
//    school only with school_cap respondents. The cap is five noise SDs of
//    the summed indicator, so that a cell of a single school passes a
//    schools threshold of 3 only with probability below 2^-40.
//  * So that the secure-aggregation ring stays non-negative and never
//    wraps, each school adds a public offset B_e, a bound its noise share
//    exceeds with probability at most 2^-40 over the whole vector; a share
//    beyond it is never sent (the run fails, independently of the data).
//    The coordinator subtracts contributors * B_e from the sum: decoding is
//    centred.
//
// Pure functions of the query, rho and the run's numbers of schools, so
// every node and the coordinator compute the same plan.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/noise.h"
#include "query/layout.h"

namespace kring::query {

// How much one pupil can change a school's vector.
struct Sensitivity {
  // Cells a record is counted in: 2^(number of group variables).
  size_t cells_per_record = 1;
  // Per cell-block element: the largest change of that element in one cell.
  std::vector<uint64_t> per_element;
};

// The sensitivity of `layout`'s vector to adding or removing one record.
Sensitivity SensitivityOf(const Layout& layout);

// The share of a query's rho spent on the "school contributes" indicators.
inline constexpr double kSchoolsShare = 1.0 / 3.0;

// Which noise each school adds to a query's vector.
class NoisePlan {
 public:
  // For `rho` (> 0, finite) spent by the query, a run that can finish with
  // as few as `min_shares` schools and has at most `max_shares` (its
  // roster). INVALID_ARGUMENT for invalid arguments or a vector whose
  // bounds do not fit 64-bit secure aggregation.
  static absl::StatusOr<NoisePlan> Create(const Layout& layout, double rho,
                                          uint32_t min_shares,
                                          uint32_t max_shares);

  // The rho asked for and the rho spent (<= requested: shares are rounded
  // up). zCDP for one pupil, at any min_shares or more contributors.
  double requested_rho() const { return requested_rho_; }
  double rho() const { return rho_; }
  uint32_t min_shares() const { return min_shares_; }
  uint32_t max_shares() const { return max_shares_; }

  // Per cell-block element e: each school's noise parameter s_e^2 and its
  // offset B_e.
  const crypto::Rational& share_sigma2(size_t e) const {
    return share_sigma2_[e];
  }
  uint64_t offset(size_t e) const { return offset_[e]; }
  // Elements per cell block, and of the whole vector.
  size_t cell_width() const { return width_; }
  size_t size() const { return cells_ * width_; }

  // The secure-aggregation bound of each vector element: the largest input
  // one school sends (data bound + 2 * B_e).
  std::vector<uint64_t> NodeBounds() const;
  // Variance of the summed noise on vector element `i` when `shares`
  // schools contributed.
  double NoiseVariance(size_t i, uint32_t shares) const;

  // What one school puts in a cell's indicator: min(respondents, cap).
  // At least 1; five noise SDs of the indicator summed over max_shares.
  uint64_t school_cap() const { return school_cap_; }
  // The schools rule on a cell's noisy indicator sum `noisy` from `shares`
  // schools: the largest k in 1..shares with noisy >= threshold_k, where
  // threshold_k = max(cap*(k - 1/2), cap + z*sd) for k >= 2, sd is the
  // summed indicator's noise SD and z*sd a sub-Gaussian tail of at most
  // 2^-40. Behind a cell of fewer than k schools the sum is at most
  // cap*(k-1), so the noise must exceed c_k = threshold_k - cap*(k-1)
  // (probability at most SchoolsRuleError); behind a single school it must
  // exceed z*sd, for every k >= 2.
  uint64_t SchoolsAtLeast(int64_t noisy, uint32_t shares) const;
  // Upper bound on the probability that a cell with fewer than `k` schools
  // is estimated at k or more by SchoolsAtLeast (exp(-c_k^2 / (2 sd^2))).
  double SchoolsRuleError(uint64_t k, uint32_t shares) const;

 private:
  NoisePlan() = default;
  // c_k above, for summed-indicator noise SD `sd`.
  double RuleMargin(uint64_t k, double sd) const;

  double requested_rho_ = 0;
  double rho_ = 0;
  uint32_t min_shares_ = 0;
  uint32_t max_shares_ = 0;
  size_t cells_ = 0;
  size_t width_ = 0;
  std::vector<uint64_t> data_bound_;  // per cell-block element
  std::vector<crypto::Rational> share_sigma2_;
  std::vector<double> share_variance_;  // Var N_Z(0, s_e^2)
  std::vector<uint64_t> offset_;
  uint64_t school_cap_ = 1;
};

// Where a school's noise comes from. Production uses SystemNoise(); tests
// alone inject other sources (zero noise for exactness tests) through the
// node's options; no binary kring ships can.
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // `count` independent samples of N_Z(0, sigma2).
  virtual absl::StatusOr<std::vector<int64_t>> Sample(
      const crypto::Rational& sigma2, size_t count) = 0;
};

// Exact discrete Gaussian samples on libsodium's CSPRNG. Thread-safe.
NoiseSource& SystemNoise();

// A school's input to secure aggregation: its `contribution` plus, per
// element, a noise sample and the offset. FAILED_PRECONDITION when a sample
// exceeds its offset (probability <= 2^-40; says nothing about the data).
absl::StatusOr<std::vector<uint64_t>> NoisyInput(
    const NoisePlan& plan, std::span<const uint64_t> contribution,
    NoiseSource& noise);

// The coordinator's side: the noisy sums (signed) from the secure sum of
// `shares` schools' inputs, offsets removed. INVALID_ARGUMENT on a length
// mismatch.
absl::StatusOr<std::vector<int64_t>> RemoveOffsets(
    const NoisePlan& plan, std::span<const uint64_t> sum, uint32_t shares);

struct Result;

// Adds the schools' noise to the uncertainty of `result` (from Decode or
// DecodeNoisy of `layout`), decoded from the noisy sum of `shares` schools
// under `plan`: every figure that carries noise gets a noise SD figure and
// its confidence interval includes the noise variance (the formulas per
// statistic are in docs/privacy.md). With shares == 0 (no noise) the
// figures stay as decoded, noise SDs are 0 and intervals are sampling
// intervals. A result without its sums is left alone.
void AddNoiseToResult(const Layout& layout, const NoisePlan& plan,
                      uint32_t shares, Result& result);

}  // namespace kring::query

#endif  // KRING_QUERY_NOISE_H_
