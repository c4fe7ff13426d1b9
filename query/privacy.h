#ifndef KRING_QUERY_PRIVACY_H_
#define KRING_QUERY_PRIVACY_H_

// Privacy accounting for kring's distributed discrete Gaussian: each school
// adds an independent N_Z(0, sigma2) share (crypto/noise.h) to every element
// of its vector, and secure aggregation reveals only the sum. Pure math on
// doubles: no I/O, no randomness. Thread-safe.
//
// Sources:
//  * KLS21: P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete
//    Gaussian Mechanism for Federated Learning with Secure Aggregation",
//    ICML 2021, Theorem 1 (a sum of n discrete Gaussians is close to one,
//    up to the term tau).
//  * CKS20: C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for
//    Differential Privacy", NeurIPS 2020: Var(N_Z(0, sigma2)) <= sigma2
//    (Corollary 9) and the zCDP to (epsilon, delta) conversion
//    (Proposition 12 / Corollary 13; the same bound as Asoodeh et al. 2021
//    and Balle et al. 2020, Theorem 21).
//
// Budgets are in rho-zCDP; rho adds up across releases.

#include <cstdint>

#include "absl/status/statusor.h"
#include "crypto/noise.h"

namespace kring::query::privacy {

// The floor on every school's share sigma2. KLS21 requires sigma >= 1/2;
// the floor keeps tau negligible: tau(4, n) <= 7.2e-17 for every
// n <= 10^5 shares (10 exp(-pi^2 sigma2) = 7.16e-17 from k = 1; all other
// terms together add below 2e-22), so tau/4 adds under 2e-17 to rho.
// (tau < 1e-30 would need sigma2 >= 8: tau(8, 10^5) = 5.1e-34.)
inline constexpr double kMinShareSigma2 = 4.0;

// Var(N_Z(0, sigma2)) = sum x^2 exp(-x^2/(2 sigma2)) / sum exp(...), to
// double precision: the direct series for sigma2 <= 1, the Poisson-summed
// (theta function) series above. Always <= sigma2; 0 for sigma2 <= 0.
double DiscreteGaussianVariance(double sigma2);

// KLS21's tau for the sum of n shares of N_Z(0, sigma2):
// 10 * sum_{k=1}^{n-1} exp(-2 pi^2 sigma2 k/(k+1)); 0 for n <= 1. Summed
// exactly up to k = 2^14; further terms are bounded by the last one
// summed (they decrease), so for larger n the result is an upper bound
// within a factor exp(2 pi^2 sigma2 / 2^14) of the tail.
double DistributedTau(double sigma2, uint32_t n);

// zCDP rho of one coordinate with L2 sensitivity `delta` when at least
// `min_shares` and at most `max_shares` schools each add N_Z(0, sigma2)
// (KLS21 Theorem 1, first branch, d = 1):
//   delta^2 / (2 * min_shares * sigma2) + tau(sigma2, max_shares) / 4.
// Preconditions (unchecked): delta >= 0, sigma2 >= 1/4 (KLS21's sigma >=
// 1/2), 1 <= min_shares <= max_shares.
double CoordinateRho(double delta, double sigma2, uint32_t min_shares,
                     uint32_t max_shares);

// The epsilon for which rho-zCDP implies (epsilon, delta)-DP: the infimum
// over alpha > 1 of alpha rho + ln(1 - 1/alpha) + (ln(1/delta) - ln
// alpha)/(alpha - 1) (CKS20 Corollary 13), taken over a fixed grid of
// alpha (so the result is monotone in rho and a valid epsilon, never below
// the infimum), and never above the simple bound rho + 2 sqrt(rho
// ln(1/delta)). Requires rho >= 0 and 0 < delta < 1; NaN otherwise.
double EpsilonAtDelta(double rho, double delta);

// The smallest per-share sigma2 on the grid of multiples of
// max(2^-20, 2^(e-53)) (2^e the first power of two that suffices), so a
// num/den with den a power of two <= 2^20 that is exact as a double, such
// that CoordinateRho(delta, sigma2, min_shares, max_shares) <= rho and
// sigma2 >= kMinShareSigma2. INVALID_ARGUMENT unless delta > 0, rho > 0
// (both finite) and 1 <= min_shares <= max_shares; OUT_OF_RANGE if the
// answer exceeds the sampler's limit 2^62.
absl::StatusOr<crypto::Rational> CalibrateShareSigma2(double delta, double rho,
                                                      uint32_t min_shares,
                                                      uint32_t max_shares);

}  // namespace kring::query::privacy

#endif  // KRING_QUERY_PRIVACY_H_
