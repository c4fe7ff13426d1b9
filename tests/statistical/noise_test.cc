// Statistical tests of the exact noise samplers (crypto/noise.h): chi-square
// goodness of fit of each sampler against its exact pmf, computed here in
// long double, and of sums of k shares against the exact k-fold
// convolution. Label "statistical"; kept apart from the functional tests.
//
// Each test has a fixed seed, so runs are reproducible. The critical value
// of every chi-square test is the 1 - 1e-6 quantile of its chi-square
// distribution (Boost.Math), and every moment test uses |z| > 5.3
// (two-sided normal tail 1.2e-7), so a correct sampler fails a given test
// with probability below 1e-6 over the choice of seed. Bins are merged until
// each expects at least 25 draws and (except for the Bernoulli tests) 1/200
// of the samples, so the
// chi-square approximation holds and even a few-percent error in a bin's
// probability is detected.

#include "crypto/noise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "boost/math/distributions/chi_squared.hpp"
#include "crypto/random.h"
#include "gtest/gtest.h"

namespace kring::crypto {
namespace {

constexpr double kFailureProbability = 1e-6;
constexpr long double kPi = 3.141592653589793238462643383279502884L;

// An integer distribution given by its probabilities on [lo, hi]; the mass
// outside is negligible (below 1e-300) and is not modelled.
struct Pmf {
  int64_t lo = 0;
  std::vector<long double> p;  // p[i] = P[lo + i], normalised
  int64_t hi() const { return lo + static_cast<int64_t>(p.size()) - 1; }
};

Pmf Normalised(int64_t lo, std::vector<long double> weight) {
  long double total = 0;
  for (long double w : weight) total += w;
  for (long double& w : weight) w /= total;
  return Pmf{lo, std::move(weight)};
}

// N_Z(0, sigma2) on [-R, R], R = 40 sigma + 10.
Pmf DiscreteGaussianPmf(long double sigma2) {
  int64_t r = static_cast<int64_t>(40 * std::sqrt(sigma2)) + 10;
  std::vector<long double> w;
  for (int64_t x = -r; x <= r; ++x) {
    long double xl = static_cast<long double>(x);
    w.push_back(std::exp(-xl * xl / (2 * sigma2)));
  }
  return Normalised(-r, std::move(w));
}

// Discrete Laplace with scale t on [-R, R], R = 700 t.
Pmf DiscreteLaplacePmf(long double t) {
  int64_t r = static_cast<int64_t>(700 * t);
  std::vector<long double> w;
  for (int64_t x = -r; x <= r; ++x) {
    w.push_back(std::exp(-std::fabs(static_cast<long double>(x)) / t));
  }
  return Normalised(-r, std::move(w));
}

// The distribution of the sum of independent draws from a and b.
Pmf Convolve(const Pmf& a, const Pmf& b) {
  std::vector<long double> w(a.p.size() + b.p.size() - 1, 0);
  for (size_t i = 0; i < a.p.size(); ++i) {
    for (size_t j = 0; j < b.p.size(); ++j) w[i + j] += a.p[i] * b.p[j];
  }
  return Normalised(a.lo + b.lo, std::move(w));
}

// Consecutive integer ranges; the first and last are open-ended.
struct Bins {
  std::vector<int64_t> upper;  // inclusive upper end of each bin
  std::vector<long double> probability;
};

Bins MakeBins(const Pmf& pmf, long double min_probability) {
  Bins bins;
  long double acc = 0;
  for (size_t i = 0; i < pmf.p.size(); ++i) {
    acc += pmf.p[i];
    if (acc >= min_probability) {
      bins.upper.push_back(pmf.lo + static_cast<int64_t>(i));
      bins.probability.push_back(acc);
      acc = 0;
    }
  }
  // The remainder joins the last bin, which extends to +infinity.
  bins.probability.back() += acc;
  bins.upper.back() = INT64_MAX;
  return bins;
}

struct ChiSquare {
  double statistic;
  double critical;
  int df;
};

ChiSquare Test(const Bins& bins, const std::vector<int64_t>& samples) {
  std::vector<double> observed(bins.upper.size(), 0);
  for (int64_t x : samples) {
    auto it = std::lower_bound(bins.upper.begin(), bins.upper.end(), x);
    ++observed[it - bins.upper.begin()];
  }
  double n = static_cast<double>(samples.size());
  double stat = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    double expected = n * static_cast<double>(bins.probability[i]);
    stat += (observed[i] - expected) * (observed[i] - expected) / expected;
  }
  int df = static_cast<int>(observed.size()) - 1;
  boost::math::chi_squared dist(df);
  double critical =
      boost::math::quantile(boost::math::complement(dist, kFailureProbability));
  return {stat, critical, df};
}

// Chi-square goodness of fit of `samples` against `pmf`.
// Bins expect at least max(min_share, 25 / n) of the n samples.
void ExpectFits(const Pmf& pmf, const std::vector<int64_t>& samples,
                const std::string& what, long double min_share = 1.0L / 200) {
  long double n = static_cast<long double>(samples.size());
  Bins bins = MakeBins(pmf, std::max(min_share, 25.0L / n));
  ASSERT_GE(bins.upper.size(), 2u) << what;
  ChiSquare c = Test(bins, samples);
  EXPECT_LT(c.statistic, c.critical)
      << what << ": chi-square " << c.statistic << " with " << c.df
      << " degrees of freedom; critical value at p = 1e-6 is " << c.critical;
}

template <typename F>
std::vector<int64_t> Draw(int n, uint64_t seed, F&& sample) {
  DeterministicRandom rng(seed);
  std::vector<int64_t> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(sample(rng));
  return out;
}

TEST(NoiseStatisticalTest, BernoulliExpMatchesExpMinusGamma) {
  const Rational gammas[] = {
      {1, 10},
      {1, 2},
      {1, 1},
      {3, 2},
      {5, 2},
      {7, 1},
      // About 2, with a 64-bit denominator (exercises the wide arithmetic).
      {~uint64_t{0}, (uint64_t{1} << 63) + 12345}};
  uint64_t seed = 100;
  for (Rational g : gammas) {
    std::vector<int64_t> xs = Draw(200000, seed++, [&](RandomSource& rng) {
      return static_cast<int64_t>(*SampleBernoulliExp(g, rng));
    });
    long double p = std::exp(-static_cast<long double>(g.num) /
                             static_cast<long double>(g.den));
    ExpectFits(Pmf{0, {1 - p, p}}, xs,
               "Bernoulli(exp(-" + std::to_string(g.num) + "/" +
                   std::to_string(g.den) + "))",
               /*min_share=*/0);
  }
}

TEST(NoiseStatisticalTest, DiscreteLaplaceMatchesPmf) {
  uint64_t seed = 200;
  for (uint64_t t : {uint64_t{1}, uint64_t{2}, uint64_t{5}, uint64_t{100}}) {
    std::vector<int64_t> xs = Draw(200000, seed++, [&](RandomSource& rng) {
      return *SampleDiscreteLaplace(t, rng);
    });
    ExpectFits(DiscreteLaplacePmf(static_cast<long double>(t)), xs,
               "discrete Laplace t = " + std::to_string(t));
  }
}

TEST(NoiseStatisticalTest, DiscreteGaussianMatchesPmf) {
  const Rational sigma2s[] = {{1, 2},          {1, 1},       {7, 3},
                              {100, 1},        {1000000, 1}, {1234567, 1024},
                              {10000000000, 1}};
  uint64_t seed = 300;
  for (Rational s : sigma2s) {
    std::vector<int64_t> xs = Draw(200000, seed++, [&](RandomSource& rng) {
      return *SampleDiscreteGaussian(s, rng);
    });
    ExpectFits(DiscreteGaussianPmf(static_cast<long double>(s.num) /
                                   static_cast<long double>(s.den)),
               xs,
               "discrete Gaussian sigma2 = " + std::to_string(s.num) + "/" +
                   std::to_string(s.den));
  }
}

TEST(NoiseStatisticalTest, DiscreteGaussianVectorMatchesPmf) {
  const Rational sigma2s[] = {{7, 3}, {1000000, 1}};
  uint64_t seed = 350;
  for (Rational s : sigma2s) {
    DeterministicRandom rng(seed++);
    std::vector<int64_t> xs = *SampleDiscreteGaussians(s, 200000, rng);
    ExpectFits(DiscreteGaussianPmf(static_cast<long double>(s.num) /
                                   static_cast<long double>(s.den)),
               xs,
               "discrete Gaussian vector sigma2 = " + std::to_string(s.num) +
                   "/" + std::to_string(s.den));
  }
}

// Central moments of a pmf (mean 0 by symmetry).
long double Moment(const Pmf& pmf, int k) {
  long double m = 0;
  for (size_t i = 0; i < pmf.p.size(); ++i) {
    long double x = static_cast<long double>(pmf.lo + static_cast<int64_t>(i));
    m += pmf.p[i] * std::pow(x, k);
  }
  return m;
}

// The sum of k shares, each N_Z(0, s2) from its own draw, as the schools
// add them: its distribution is the k-fold convolution and its variance
// k * Var(N_Z(0, s2)).
void ExpectSumOfShares(Rational s2, int k, int n, uint64_t seed) {
  Pmf share = DiscreteGaussianPmf(static_cast<long double>(s2.num) /
                                  static_cast<long double>(s2.den));
  Pmf sum = share;
  for (int i = 1; i < k; ++i) sum = Convolve(sum, share);
  std::vector<int64_t> xs = Draw(n, seed, [&](RandomSource& rng) {
    int64_t total = 0;
    for (int i = 0; i < k; ++i) total += *SampleDiscreteGaussian(s2, rng);
    return total;
  });
  std::string what = "sum of " + std::to_string(k) + " shares";
  ExpectFits(sum, xs, what);

  // Sample variance against k * Var(share); the standard error of the
  // sample second moment is sqrt((mu4 - var^2) / n).
  long double var = k * Moment(share, 2);
  EXPECT_NEAR(static_cast<double>(Moment(sum, 2) / var), 1.0, 1e-12);
  long double mu4 = Moment(sum, 4);
  long double second = 0;
  for (int64_t x : xs) second += static_cast<long double>(x) * x;
  second /= n;
  long double z = (second - var) / std::sqrt((mu4 - var * var) / n);
  EXPECT_LT(std::fabs(static_cast<double>(z)), 5.3)
      << what << ": mean square " << static_cast<double>(second)
      << ", expected " << static_cast<double>(var);
}

TEST(NoiseStatisticalTest, SumOfFiveSharesMatchesConvolution) {
  ExpectSumOfShares({4, 1}, 5, 100000, 400);
  ExpectSumOfShares({7, 3}, 5, 100000, 401);
}

TEST(NoiseStatisticalTest, SumOfFiftySharesMatchesConvolution) {
  ExpectSumOfShares({4, 1}, 50, 20000, 402);
}

}  // namespace
}  // namespace kring::crypto
