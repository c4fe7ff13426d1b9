#ifndef KRING_CRYPTO_NOISE_H_
#define KRING_CRYPTO_NOISE_H_

// Exact samplers for the integer noise of distributed differential privacy.
//
// Source: C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for
// Differential Privacy", NeurIPS 2020 (arXiv:2004.00010), Algorithm 1
// (Bernoulli(exp(-gamma))), Algorithm 2 (discrete Laplace) and Algorithm 3
// (discrete Gaussian by rejection from a discrete Laplace). Every step uses
// integer arithmetic (64-, 128- and 256-bit) on uniform random bits; there
// is no floating point and no <random>. A Bernoulli(p/q) is decided by
// comparing fresh random bits with the binary expansion of p/q, and a
// uniform integer in [0, n) by rejection, so no step has modulo bias.
//
// The Gaussian is N_Z(0, sigma2): P[x] proportional to exp(-x^2/(2 sigma2))
// over the integers. kring's schools each add one such share per vector
// element (the distributed discrete Gaussian of Kairouz, Liu, Steinke 2021;
// accounting in query/privacy.h).
//
// Outputs are int64_t, so both samplers are restricted to |x| <= 2^62: a
// proposal beyond that is rejected, which makes the output an exact sample
// of the distribution conditioned on |x| <= 2^62. Within the supported
// parameters the excluded mass is below exp(-2^29) (Laplace) and
// exp(-2^61) (Gaussian), far below any observable effect.
//
// Randomness comes only from the RandomSource given (SystemRandom() in
// production). Each call reads the bytes it needs in chunks (8 bytes for
// one sample, 512 for a vector); the number read varies with the sample
// (expected O(1) chunks per sample). The samplers are not constant-time:
// how long a draw takes depends on the value drawn, so noise is to be drawn
// before a run starts, not while others can time it. The functions
// are thread-safe if `rng` is.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/random.h"

namespace kring::crypto {

// The value num/den. Parameters are checked by each sampler.
struct Rational {
  uint64_t num;
  uint64_t den;
};

// Largest scale accepted by SampleDiscreteLaplace.
inline constexpr uint64_t kMaxLaplaceScale = uint64_t{1} << 32;
// Largest sigma2 accepted by SampleDiscreteGaussian (as a value).
inline constexpr uint64_t kMaxGaussianSigma2 = uint64_t{1} << 62;
// Largest denominator of sigma2 accepted by SampleDiscreteGaussian.
inline constexpr uint64_t kMaxGaussianDenominator = uint64_t{1} << 32;

// True with probability exactly exp(-gamma.num / gamma.den) (CKS20
// Algorithm 1). gamma.num may be 0 (always true); gamma.den must be > 0,
// else INVALID_ARGUMENT. Expected O(1) random bits for every gamma.
absl::StatusOr<bool> SampleBernoulliExp(Rational gamma, RandomSource& rng);

// A sample of the discrete Laplace distribution with scale t:
// P[y] proportional to exp(-|y|/t) over the integers (CKS20 Algorithm 2),
// conditioned on |y| <= 2^62. INVALID_ARGUMENT unless 1 <= t <= 2^32.
absl::StatusOr<int64_t> SampleDiscreteLaplace(uint64_t t, RandomSource& rng);

// An exact sample of N_Z(0, sigma2), sigma2 = num/den (CKS20 Algorithm 3),
// conditioned on |x| <= 2^62. INVALID_ARGUMENT unless num >= 1,
// 1 <= den <= 2^32 and num/den <= 2^62. Expected O(1) iterations for every
// sigma2 in range.
absl::StatusOr<int64_t> SampleDiscreteGaussian(Rational sigma2,
                                               RandomSource& rng);

// Largest count accepted by SampleDiscreteGaussians.
inline constexpr size_t kMaxGaussianCount = size_t{1} << 30;

// `count` independent samples of N_Z(0, sigma2), the same algorithm as
// SampleDiscreteGaussian (same limits; count <= 2^30), reading randomness 512
// bytes per call instead of 8: for drawing a whole noise vector at once (with
// libsodium each call is a getrandom system call).
absl::StatusOr<std::vector<int64_t>> SampleDiscreteGaussians(Rational sigma2,
                                                             size_t count,
                                                             RandomSource& rng);

}  // namespace kring::crypto

#endif  // KRING_CRYPTO_NOISE_H_
