// Functional tests of the exact noise samplers: known answers, parameter
// checks, extremes and symmetry. The distributional tests (chi-square
// against the exact pmf) are in tests/statistical/noise_statistical_test.cc.

#include "crypto/noise.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Counts the bytes drawn, so tests can see how much randomness a call uses.
class CountingRandom final : public RandomSource {
 public:
  explicit CountingRandom(RandomSource& inner) : inner_(inner) {}
  void Fill(std::span<uint8_t> out) override {
    bytes_ += out.size();
    inner_.Fill(out);
  }
  uint64_t bytes() const { return bytes_; }

 private:
  RandomSource& inner_;
  uint64_t bytes_ = 0;
};

std::vector<int64_t> Gaussians(Rational sigma2, uint64_t seed, int n) {
  DeterministicRandom rng(seed);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i)
    out.push_back(*SampleDiscreteGaussian(sigma2, rng));
  return out;
}

std::vector<int64_t> Laplaces(uint64_t t, uint64_t seed, int n) {
  DeterministicRandom rng(seed);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(*SampleDiscreteLaplace(t, rng));
  return out;
}

std::vector<int> Bernoullis(Rational gamma, uint64_t seed, int n) {
  DeterministicRandom rng(seed);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(*SampleBernoulliExp(gamma, rng));
  return out;
}

constexpr int kKatBernoulli[] = {1, 1, 0, 0, 1, 1, 1, 1,
                                 0, 1, 0, 0, 0, 1, 1, 0};
constexpr int64_t kKatLaplace[] = {1, -3, -9, -8, 0, 7, 3, 0, 8, -11, 5, -8};
constexpr int64_t kKatGaussianSmall[] = {-1, 2, 0, 0, 2, 1, 1, -4, 0, -1, 1, 0};
constexpr int64_t kKatGaussianVector[] = {-1, 1, 2,  1,  0, -1,
                                          -1, 2, -2, -2, 2, 1};
constexpr int64_t kKatGaussianLarge[] = {119479, -117223, 71726,
                                         4421,   -27733,  144601};

// Known answers: the first samples under fixed seeds. They pin the exact
// consumption of randomness, so any change to the algorithms shows here
// (and must be justified by the statistical tests).
TEST(NoiseKnownAnswerTest, BernoulliExp) {
  EXPECT_THAT(Bernoullis({1, 2}, 1, 16), ElementsAreArray(kKatBernoulli));
}

TEST(NoiseKnownAnswerTest, DiscreteLaplace) {
  EXPECT_THAT(Laplaces(3, 2, 12), ElementsAreArray(kKatLaplace));
}

TEST(NoiseKnownAnswerTest, DiscreteGaussian) {
  EXPECT_THAT(Gaussians({7, 3}, 3, 12), ElementsAreArray(kKatGaussianSmall));
  EXPECT_THAT(Gaussians({10000000000, 1}, 4, 6),
              ElementsAreArray(kKatGaussianLarge));
}

TEST(NoiseKnownAnswerTest, DiscreteGaussianVector) {
  DeterministicRandom rng(3);
  KRING_ASSERT_OK_AND_ASSIGN(std::vector<int64_t> xs,
                             SampleDiscreteGaussians({7, 3}, 12, rng));
  EXPECT_THAT(xs, ElementsAreArray(kKatGaussianVector));
}

TEST(NoiseKnownAnswerTest, SameSeedSameStream) {
  EXPECT_EQ(Gaussians({100, 1}, 9, 50), Gaussians({100, 1}, 9, 50));
  EXPECT_NE(Gaussians({100, 1}, 9, 50), Gaussians({100, 1}, 10, 50));
}

TEST(NoiseParameterTest, BernoulliExpRejectsZeroDenominator) {
  DeterministicRandom rng(1);
  EXPECT_THAT(
      SampleBernoulliExp({1, 0}, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("denominator 0")));
}

TEST(NoiseParameterTest, LaplaceRejectsScaleOutOfRange) {
  DeterministicRandom rng(1);
  EXPECT_THAT(
      SampleDiscreteLaplace(0, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1..2^32")));
  EXPECT_THAT(
      SampleDiscreteLaplace(kMaxLaplaceScale + 1, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1..2^32")));
  EXPECT_TRUE(SampleDiscreteLaplace(kMaxLaplaceScale, rng).ok());
}

TEST(NoiseParameterTest, GaussianRejectsParametersOutOfRange) {
  DeterministicRandom rng(1);
  EXPECT_THAT(
      SampleDiscreteGaussian({0, 1}, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
  EXPECT_THAT(
      SampleDiscreteGaussian({1, 0}, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
  EXPECT_THAT(SampleDiscreteGaussian({1, kMaxGaussianDenominator + 1}, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^32")));
  EXPECT_THAT(SampleDiscreteGaussian({kMaxGaussianSigma2 + 1, 1}, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^62")));
  // 2^62 + 1/3 is refused; exactly 2^62 with the same denominator is not.
  EXPECT_THAT(SampleDiscreteGaussian({3 * kMaxGaussianSigma2 + 1, 3}, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^62")));
  EXPECT_TRUE(SampleDiscreteGaussian({3 * kMaxGaussianSigma2, 3}, rng).ok());
}

TEST(NoiseParameterTest, GaussianVectorChecksLikeTheSingleSampler) {
  DeterministicRandom rng(1);
  EXPECT_THAT(
      SampleDiscreteGaussians({0, 1}, 3, rng),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
  EXPECT_THAT(SampleDiscreteGaussians({kMaxGaussianSigma2 + 1, 1}, 3, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^62")));
  EXPECT_THAT(SampleDiscreteGaussians({1, 1}, kMaxGaussianCount + 1, rng),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2^30")));
  KRING_ASSERT_OK_AND_ASSIGN(std::vector<int64_t> none,
                             SampleDiscreteGaussians({1, 1}, 0, rng));
  EXPECT_TRUE(none.empty());
}

TEST(NoiseExtremesTest, BernoulliExpAtZeroIsAlwaysTrue) {
  for (int b : Bernoullis({0, 1}, 5, 200)) EXPECT_EQ(b, 1);
  for (int b : Bernoullis({0, ~uint64_t{0}}, 5, 200)) EXPECT_EQ(b, 1);
}

TEST(NoiseExtremesTest, BernoulliExpOfLargeGammaIsFalse) {
  // exp(-40) < 1e-17: a correct sampler returns true here with probability
  // below 1e-14 over the 1000 draws.
  for (int b : Bernoullis({40, 1}, 6, 1000)) EXPECT_EQ(b, 0);
  for (int b : Bernoullis({~uint64_t{0}, 1}, 6, 1000)) EXPECT_EQ(b, 0);
}

TEST(NoiseExtremesTest, BernoulliExpOfTinyGammaIsTrue) {
  // exp(-2^-64) fails with probability 5e-20 per draw.
  for (int b : Bernoullis({1, ~uint64_t{0}}, 7, 1000)) EXPECT_EQ(b, 1);
}

TEST(NoiseExtremesTest, TinySigmaGivesZero) {
  // sigma2 = 2^-32: P[x != 0] = 2 exp(-2^31) (effectively 0).
  for (int64_t x : Gaussians({1, kMaxGaussianDenominator}, 8, 200)) {
    EXPECT_EQ(x, 0);
  }
}

TEST(NoiseExtremesTest, LargestSigma2IsSupported) {
  // sigma2 = 2^62, sigma = 2^31: samples are spread on that scale and stay
  // within 8 sigma (probability of leaving it below 1e-14 per draw).
  const double sigma = 2147483648.0;
  double sum_sq = 0;
  std::vector<int64_t> xs = Gaussians({kMaxGaussianSigma2, 1}, 11, 400);
  for (int64_t x : xs) {
    EXPECT_LT(std::abs(static_cast<double>(x)), 8 * sigma);
    sum_sq += static_cast<double>(x) * static_cast<double>(x);
  }
  // The mean square of 400 draws is within 50% of sigma2 unless something is
  // badly wrong (chi-square with 400 df: P[outside] < 1e-12).
  double mean_sq = sum_sq / 400 / (sigma * sigma);
  EXPECT_GT(mean_sq, 0.5);
  EXPECT_LT(mean_sq, 1.5);

  // Largest numerator with the largest denominator: sigma2 just under 2^32.
  std::vector<int64_t> ys =
      Gaussians({~uint64_t{0}, kMaxGaussianDenominator}, 12, 400);
  sum_sq = 0;
  for (int64_t y : ys)
    sum_sq += static_cast<double>(y) * static_cast<double>(y);
  mean_sq = sum_sq / 400 / 4294967296.0;
  EXPECT_GT(mean_sq, 0.5);
  EXPECT_LT(mean_sq, 1.5);
}

TEST(NoiseExtremesTest, LargestLaplaceScaleIsSupported) {
  DeterministicRandom rng(13);
  double sum_abs = 0;
  for (int i = 0; i < 400; ++i) {
    KRING_ASSERT_OK_AND_ASSIGN(int64_t y,
                               SampleDiscreteLaplace(kMaxLaplaceScale, rng));
    sum_abs += std::abs(static_cast<double>(y));
  }
  // E|Y| is about t = 2^32; the mean of 400 draws is within 40% of it
  // except with probability below 1e-10.
  double ratio = sum_abs / 400 / 4294967296.0;
  EXPECT_GT(ratio, 0.6);
  EXPECT_LT(ratio, 1.4);
}

// Symmetry: positive and negative values equally often, for each sampler.
// With n nonzero samples the count of positives is Binomial(n, 1/2); six
// standard deviations is exceeded with probability 2e-9.
void ExpectBalanced(const std::vector<int64_t>& xs) {
  int64_t pos = 0, neg = 0;
  for (int64_t x : xs) (x > 0 ? pos : neg) += x != 0;
  double n = static_cast<double>(pos + neg);
  ASSERT_GT(n, 1000);
  EXPECT_LT(std::abs(static_cast<double>(pos - neg)), 6 * std::sqrt(n))
      << pos << " positive, " << neg << " negative";
}

TEST(NoiseSymmetryTest, LaplaceAndGaussianAreSymmetric) {
  ExpectBalanced(Laplaces(1, 14, 20000));
  ExpectBalanced(Laplaces(1000, 15, 20000));
  ExpectBalanced(Gaussians({1, 2}, 16, 20000));
  ExpectBalanced(Gaussians({1000000, 1}, 17, 20000));
}

TEST(NoiseRandomnessTest, DrawsOnlyFromTheGivenSourceAndLittleOfIt) {
  DeterministicRandom inner(18);
  CountingRandom rng(inner);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(SampleDiscreteGaussian({1000000, 1}, rng).ok());
  }
  // A few 8-byte chunks per sample; a regression to bit-hungry sampling
  // (or to a runaway loop) shows here.
  EXPECT_GT(rng.bytes(), 8u * 1000);
  EXPECT_LT(rng.bytes(), 200u * 1000);
}

TEST(NoiseRandomnessTest, VectorReadsWholeBlocks) {
  DeterministicRandom inner(19);
  CountingRandom rng(inner);
  KRING_ASSERT_OK_AND_ASSIGN(std::vector<int64_t> xs,
                             SampleDiscreteGaussians({1000000, 1}, 1000, rng));
  EXPECT_EQ(xs.size(), 1000u);
  EXPECT_EQ(rng.bytes() % 512, 0u);
  // About 9 bytes per sample are used; the last block is partly unused.
  EXPECT_LT(rng.bytes(), 20u * 1000);
}

}  // namespace
}  // namespace kring::crypto
