#include "query/privacy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace kring::query::privacy {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Terms of DistributedTau summed one by one; beyond, bounded.
constexpr uint32_t kTauExactTerms = uint32_t{1} << 14;

// sum x^2 w(x) / sum w(x) over the integers, w(x) = exp(-x^2/(2 sigma2)),
// summed directly; for sigma2 <= 1 the terms fall below 1e-300 by x = 38.
double VarianceDirect(double sigma2) {
  double weights = 1, moments = 0;  // x = 0 contributes weight 1
  for (int x = 1;; ++x) {
    double w = std::exp(-static_cast<double>(x) * x / (2 * sigma2));
    if (w == 0) break;
    weights += 2 * w;
    moments += 2 * static_cast<double>(x) * x * w;
    if (static_cast<double>(x) * x * w < 1e-20 * moments) break;
  }
  return moments / weights;
}

// The same by Poisson summation (Jacobi theta): with q_k = exp(-2 pi^2
// sigma2 k^2), Var = sigma2 * sum_k (1 - 4 pi^2 sigma2 k^2) q_k / sum_k q_k.
// For sigma2 > 1, q_1 < 3e-9 and q_3 < 1e-77, so k <= 3 suffices.
double VarianceDual(double sigma2) {
  double num = 1, den = 1;  // k = 0
  for (int k = 1; k <= 3; ++k) {
    double k2 = static_cast<double>(k) * k;
    double q = std::exp(-2 * kPi * kPi * sigma2 * k2);
    num += 2 * (1 - 4 * kPi * kPi * sigma2 * k2) * q;
    den += 2 * q;
  }
  return sigma2 * num / den;
}

// alpha rho + ln(1 - 1/alpha) + (ln(1/delta) - ln alpha) / (alpha - 1),
// written in alpha - 1 = m for accuracy near alpha = 1.
double EpsilonAtAlpha(double rho, double log_inv_delta, double m) {
  double alpha = 1 + m;
  return alpha * rho + std::log(m / alpha) +
         (log_inv_delta - std::log1p(m)) / m;
}

}  // namespace

double DiscreteGaussianVariance(double sigma2) {
  if (!(sigma2 > 0)) return 0;
  double v = sigma2 <= 1 ? VarianceDirect(sigma2) : VarianceDual(sigma2);
  return std::min(v, sigma2);
}

double DistributedTau(double sigma2, uint32_t n) {
  if (n <= 1) return 0;
  const double c = 2 * kPi * kPi * sigma2;
  const uint32_t exact = std::min(n - 1, kTauExactTerms);
  double sum = 0, term = 0;
  for (uint32_t k = 1; k <= exact; ++k) {
    term = std::exp(-c * k / (k + 1.0));
    if (term == 0) break;  // the rest are smaller still
    sum += term;
  }
  // Terms k = exact+1 .. n-1, each at most the last one summed.
  sum += static_cast<double>(n - 1 - exact) * term;
  return 10 * sum;
}

double CoordinateRho(double delta, double sigma2, uint32_t min_shares,
                     uint32_t max_shares) {
  return delta * delta / (2.0 * min_shares * sigma2) +
         DistributedTau(sigma2, max_shares) / 4;
}

double EpsilonAtDelta(double rho, double delta) {
  if (!(rho >= 0) || !(delta > 0) || !(delta < 1)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double log_inv_delta = -std::log(delta);
  double best = rho + 2 * std::sqrt(rho * log_inv_delta);
  if (rho == 0 || std::isinf(rho)) return best;
  // alpha - 1 from 1e-6 to 1e9 in steps of 1% (about 3,500 points); the
  // optimum 1 + sqrt(ln(1/delta)/rho) lies inside for every rho between
  // about 1e-16 and 1e7, and the 1% step costs under 1e-4 relative.
  for (double m = 1e-6; m <= 1e9; m *= 1.01) {
    best = std::min(best, EpsilonAtAlpha(rho, log_inv_delta, m));
  }
  return std::max(best, 0.0);
}

absl::StatusOr<crypto::Rational> CalibrateShareSigma2(double delta, double rho,
                                                      uint32_t min_shares,
                                                      uint32_t max_shares) {
  if (!(delta > 0) || !std::isfinite(delta) || !(rho > 0) ||
      !std::isfinite(rho)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CalibrateShareSigma2: sensitivity %g and rho %g must both be "
        "positive and finite",
        delta, rho));
  }
  if (min_shares == 0 || min_shares > max_shares) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CalibrateShareSigma2: shares must satisfy 1 <= min_shares (%d) <= "
        "max_shares (%d)",
        min_shares, max_shares));
  }
  auto fits = [&](double sigma2) {
    return CoordinateRho(delta, sigma2, min_shares, max_shares) <= rho;
  };
  if (fits(kMinShareSigma2)) return crypto::Rational{4, 1};
  // The first power of two 2^e that fits; 2^(e-1) does not.
  int e = 2;
  while (!fits(std::ldexp(1.0, e))) {
    if (++e > 62) {
      return absl::OutOfRangeError(absl::StrFormat(
          "CalibrateShareSigma2: sensitivity %g at rho %g with %d shares "
          "needs a per-share sigma2 above the sampler's limit 2^62; ask for "
          "a larger rho or clamp the values more tightly",
          delta, rho, min_shares));
    }
  }
  // Smallest multiple m of the step 2^j in (2^(e-1), 2^e] that fits; m <=
  // 2^53, so m * 2^j is exact as a double.
  const int j = std::max(-20, e - 53);
  uint64_t lo = uint64_t{1} << (e - 1 - j);  // does not fit
  uint64_t hi = uint64_t{1} << (e - j);      // fits
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    (fits(std::ldexp(static_cast<double>(mid), j)) ? hi : lo) = mid;
  }
  if (j >= 0) return crypto::Rational{hi << j, 1};
  uint64_t num = hi, den = uint64_t{1} << -j;
  while (num % 2 == 0 && den > 1) {
    num /= 2;
    den /= 2;
  }
  return crypto::Rational{num, den};
}

}  // namespace kring::query::privacy
