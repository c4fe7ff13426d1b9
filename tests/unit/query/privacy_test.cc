#include "query/privacy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::query::privacy {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

double Value(crypto::Rational r) {
  return static_cast<double>(r.num) / static_cast<double>(r.den);
}

// Reference values: the direct series summed to |x| = 2000 in 50-digit
// decimal arithmetic (Python's decimal module).
TEST(DiscreteGaussianVarianceTest, MatchesHighPrecisionSeries) {
  EXPECT_NEAR(DiscreteGaussianVariance(0.05), 9.0791615659055802e-05, 1e-19);
  EXPECT_NEAR(DiscreteGaussianVariance(0.25), 0.21501267508813849, 1e-16);
  EXPECT_NEAR(DiscreteGaussianVariance(0.5), 0.49897913083282046, 1e-16);
  EXPECT_NEAR(DiscreteGaussianVariance(1.0), 0.99999978876772808, 1e-15);
  EXPECT_NEAR(DiscreteGaussianVariance(7.0 / 3), 2.3333333333333333290, 1e-15);
  EXPECT_DOUBLE_EQ(DiscreteGaussianVariance(4.0), 4.0);
  EXPECT_DOUBLE_EQ(DiscreteGaussianVariance(1e10), 1e10);
}

TEST(DiscreteGaussianVarianceTest, BothSeriesAgreeWhereTheyMeet) {
  // sigma2 = 1 is summed directly, just above it by Poisson summation.
  EXPECT_NEAR(DiscreteGaussianVariance(1.0),
              DiscreteGaussianVariance(1.0 + 1e-12), 1e-11);
}

TEST(DiscreteGaussianVarianceTest, AtMostSigma2AndIncreasing) {
  double last = 0;
  for (double s2 = 1e-3; s2 < 1e6; s2 *= 1.1) {
    double v = DiscreteGaussianVariance(s2);
    EXPECT_LE(v, s2);
    EXPECT_GT(v, last) << s2;
    last = v;
  }
  EXPECT_EQ(DiscreteGaussianVariance(0), 0);
  EXPECT_EQ(DiscreteGaussianVariance(-1), 0);
}

TEST(DistributedTauTest, HandComputedValues) {
  EXPECT_EQ(DistributedTau(1.0, 1), 0);
  EXPECT_EQ(DistributedTau(1.0, 0), 0);
  // n = 2: one term, k = 1: 10 exp(-pi^2 sigma2).
  EXPECT_DOUBLE_EQ(DistributedTau(1.0, 2), 10 * std::exp(-kPi * kPi));
  // n = 3: k = 1, 2.
  EXPECT_DOUBLE_EQ(DistributedTau(0.25, 3),
                   10 * (std::exp(-kPi * kPi / 4) +
                         std::exp(-2 * kPi * kPi * 0.25 * 2 / 3)));
  EXPECT_NEAR(DistributedTau(0.25, 100), 9.701158454121376, 1e-12);
}

TEST(DistributedTauTest, MinimumShareSigma2KeepsTauNegligible) {
  // The figures quoted at kMinShareSigma2.
  EXPECT_NEAR(DistributedTau(kMinShareSigma2, 100000), 7.157179647609446e-17,
              1e-25);
  EXPECT_LT(DistributedTau(kMinShareSigma2, 100000), 7.2e-17);
  EXPECT_LT(DistributedTau(8.0, 100000), 1e-30);
}

TEST(DistributedTauTest, LargeNIsAnUpperBoundCloseToTheSum) {
  // Beyond 2^14 terms the rest is bounded, not summed; compare with the
  // exact sum computed here.
  const double s2 = 0.25;
  const uint32_t n = 100000;
  double exact = 0;
  for (uint32_t k = 1; k < n; ++k) {
    exact += std::exp(-2 * kPi * kPi * s2 * k / (k + 1.0));
  }
  exact *= 10;
  double tau = DistributedTau(s2, n);
  EXPECT_GE(tau, exact * (1 - 1e-12));
  EXPECT_LT(tau, exact * 1.001);
}

TEST(DistributedTauTest, MonotoneInSharesAndSigma2) {
  EXPECT_LT(DistributedTau(1.0, 10), DistributedTau(1.0, 11));
  EXPECT_LT(DistributedTau(1.0, 100000), DistributedTau(1.0, 100001));
  EXPECT_GT(DistributedTau(1.0, 10), DistributedTau(1.5, 10));
}

TEST(CoordinateRhoTest, HandComputedValues) {
  // 1 / (2 * 3 * 4) + tau(4, 10) / 4.
  EXPECT_DOUBLE_EQ(CoordinateRho(1, 4, 3, 10),
                   1.0 / 24 + DistributedTau(4, 10) / 4);
  EXPECT_NEAR(CoordinateRho(1, 4, 3, 10), 1.0 / 24, 1e-16);
  // Sensitivity 5, 20 shares of sigma2 = 2.5: 25 / 100 plus tau.
  EXPECT_NEAR(CoordinateRho(5, 2.5, 20, 20),
              0.25 + 2.5 * std::exp(-2.5 * kPi * kPi), 1e-12);
}

TEST(CoordinateRhoTest, Monotone) {
  EXPECT_GT(CoordinateRho(2, 4, 3, 10), CoordinateRho(1, 4, 3, 10));
  EXPECT_GT(CoordinateRho(1, 4, 3, 10), CoordinateRho(1, 5, 3, 10));
  EXPECT_GT(CoordinateRho(1, 4, 3, 10), CoordinateRho(1, 4, 4, 10));
  EXPECT_GT(CoordinateRho(1, 0.5, 3, 11), CoordinateRho(1, 0.5, 3, 10));
}

// Reference: the infimum over alpha found by a fine search on log(alpha-1)
// in Python (six rounds of 20,000 points each).
TEST(EpsilonAtDeltaTest, MatchesTheInfimum) {
  struct Case {
    double rho, epsilon;
  };
  for (Case c :
       {Case{1e-6, 0.004496493980648556}, Case{0.001, 0.18289537719007615},
        Case{0.05, 1.4715947505324158}, Case{0.5, 5.221534444530168},
        Case{1, 7.766216625311721}, Case{10, 32.22166094909759}}) {
    double e = EpsilonAtDelta(c.rho, 1e-6);
    EXPECT_GE(e, c.epsilon * (1 - 1e-12)) << c.rho;
    EXPECT_LT(e, c.epsilon * (1 + 1e-4)) << c.rho;
  }
  EXPECT_NEAR(EpsilonAtDelta(0.05, 1e-10), 2.0002760475222767, 2e-4);
}

TEST(EpsilonAtDeltaTest, NeverAboveTheSimpleBoundAndMonotone) {
  for (double delta : {1e-3, 1e-6, 1e-10}) {
    double last = 0;
    for (double rho = 1e-8; rho < 1e3; rho *= 1.05) {
      double e = EpsilonAtDelta(rho, delta);
      EXPECT_LE(e, rho + 2 * std::sqrt(rho * std::log(1 / delta)));
      EXPECT_GE(e, last) << rho;
      last = e;
    }
  }
}

TEST(EpsilonAtDeltaTest, EdgeCases) {
  EXPECT_EQ(EpsilonAtDelta(0, 1e-6), 0);
  EXPECT_TRUE(std::isnan(EpsilonAtDelta(-1, 1e-6)));
  EXPECT_TRUE(std::isnan(EpsilonAtDelta(0.1, 0)));
  EXPECT_TRUE(std::isnan(EpsilonAtDelta(0.1, 1)));
}

TEST(CalibrateShareSigma2Test, RoundTrip) {
  struct Case {
    double delta, rho;
    uint32_t min_shares, max_shares;
  };
  for (Case c : {Case{1, 0.05, 3, 10}, Case{1, 0.01, 3, 100},
                 Case{4, 0.1, 5, 30}, Case{100, 0.5, 3, 1000},
                 Case{1e6, 0.001, 3, 50}, Case{7, 0.3, 20, 20}}) {
    KRING_ASSERT_OK_AND_ASSIGN(
        crypto::Rational r,
        CalibrateShareSigma2(c.delta, c.rho, c.min_shares, c.max_shares));
    double s2 = Value(r);
    SCOPED_TRACE(::testing::PrintToString(c.delta) + " at rho " +
                 ::testing::PrintToString(c.rho) + ": sigma2 " +
                 std::to_string(r.num) + "/" + std::to_string(r.den));
    EXPECT_GT(r.den, 0u);
    EXPECT_LE(r.den, uint64_t{1} << 20);
    EXPECT_EQ(r.den & (r.den - 1), 0u) << "not a power of two";
    EXPECT_GE(s2, kMinShareSigma2);
    double rho = CoordinateRho(c.delta, s2, c.min_shares, c.max_shares);
    EXPECT_LE(rho, c.rho);
    if (s2 == kMinShareSigma2) continue;  // the floor, not the target, binds
    // Not far below: the grid step is at most 2^-20 (relative 2^-52 for
    // large sigma2), so rho is within 1e-6 of the target.
    EXPECT_GT(rho, c.rho * (1 - 1e-6));
    // A point a grid step (two if sigma2 is a power of two) lower does not
    // fit.
    double step = std::ldexp(1.0, std::max(-20, std::ilogb(s2) - 52));
    EXPECT_GT(CoordinateRho(c.delta, s2 - step, c.min_shares, c.max_shares),
              c.rho);
  }
}

TEST(CalibrateShareSigma2Test, HandComputed) {
  // 1 / (2 * 3 * sigma2) = 0.05 gives sigma2 = 10/3; floored to 4.
  KRING_ASSERT_OK_AND_ASSIGN(crypto::Rational r,
                             CalibrateShareSigma2(1, 0.05, 3, 10));
  EXPECT_EQ(r.num, 4u);
  EXPECT_EQ(r.den, 1u);
  // 1 / (2 * 1 * sigma2) = 0.0625 gives sigma2 = 8 exactly (one share:
  // tau = 0), reduced from 2^23 / 2^20 to 8 / 1.
  KRING_ASSERT_OK_AND_ASSIGN(r, CalibrateShareSigma2(1, 0.0625, 1, 1));
  EXPECT_EQ(r.num, 8u);
  EXPECT_EQ(r.den, 1u);
}

TEST(CalibrateShareSigma2Test, LargeSigma2UsesACoarserGrid) {
  // sigma2 = 1e12^2 / (2 * 3 * 0.01) is about 1.7e25 > 2^62: refused.
  EXPECT_THAT(CalibrateShareSigma2(1e12, 0.01, 3, 10),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("2^62")));
  // About 1.7e16, in (2^53, 2^54]: den 1 and num a multiple of 2.
  KRING_ASSERT_OK_AND_ASSIGN(crypto::Rational r,
                             CalibrateShareSigma2(1e7, 0.001, 3, 10));
  EXPECT_EQ(r.den, 1u);
  EXPECT_EQ(r.num % 2, 0u);
  EXPECT_GT(r.num, uint64_t{1} << 53);
  EXPECT_LE(CoordinateRho(1e7, Value(r), 3, 10), 0.001);
  EXPECT_GT(CoordinateRho(1e7, Value(r), 3, 10), 0.001 * (1 - 1e-12));
  EXPECT_GT(CoordinateRho(1e7, Value(r) - 2, 3, 10), 0.001);
}

TEST(CalibrateShareSigma2Test, RejectsBadArguments) {
  EXPECT_THAT(CalibrateShareSigma2(1, 0, 3, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rho")));
  EXPECT_THAT(CalibrateShareSigma2(1, -0.1, 3, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rho")));
  EXPECT_THAT(CalibrateShareSigma2(1, NAN, 3, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      CalibrateShareSigma2(0, 0.1, 3, 10),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sensitivity")));
  EXPECT_THAT(CalibrateShareSigma2(-1, 0.1, 3, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CalibrateShareSigma2(INFINITY, 0.1, 3, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      CalibrateShareSigma2(1, 0.1, 0, 10),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_shares")));
  EXPECT_THAT(
      CalibrateShareSigma2(1, 0.1, 11, 10),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_shares")));
  EXPECT_THAT(CalibrateShareSigma2(1, 0.1, 3, 10), IsOk());
}

}  // namespace
}  // namespace kring::query::privacy
