#include "crypto/shamir.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::Not;

std::vector<uint32_t> Points(uint32_t n) {
  std::vector<uint32_t> xs(n);
  std::iota(xs.begin(), xs.end(), 1u);
  return xs;
}

std::vector<ShamirShare> Pick(const std::vector<ShamirShare>& all,
                              const std::vector<size_t>& idx) {
  std::vector<ShamirShare> out;
  for (size_t i : idx) out.push_back(all[i].Clone());
  return out;
}

// Calls f for every k-subset of {0..n-1}.
template <typename F>
void ForEachSubset(size_t n, size_t k, F f) {
  std::vector<bool> sel(n, false);
  std::fill(sel.begin(), sel.begin() + k, true);
  do {
    std::vector<size_t> idx;
    for (size_t i = 0; i < n; ++i) {
      if (sel[i]) idx.push_back(i);
    }
    f(idx);
  } while (std::prev_permutation(sel.begin(), sel.end()));
}

TEST(ShamirTest, AnyThresholdSubsetReconstructs) {
  for (auto [t, n] : std::vector<std::pair<int, uint32_t>>{
           {1, 1}, {1, 4}, {2, 3}, {3, 5}, {4, 7}, {6, 6}}) {
    SecretBytes secret = SecretBytes::Random(32);
    auto xs = Points(n);
    KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, t, xs));
    ASSERT_EQ(shares.size(), n);
    ForEachSubset(n, t, [&](const std::vector<size_t>& idx) {
      auto subset = Pick(shares, idx);
      auto got = ShamirReconstruct(subset, t);
      ASSERT_THAT(got, IsOk());
      EXPECT_TRUE(*got == secret) << "t=" << t << " n=" << n;
    });
  }
}

TEST(ShamirTest, ArbitraryPointsAndAllBitsOfSecret) {
  SecretBytes secret(32);
  std::fill(secret.data(), secret.data() + 32, 0xff);  // halves = 2^128 - 1
  std::vector<uint32_t> xs = {7, 0xffffffffu, 1000, 3};
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 3, xs));
  auto got = ShamirReconstruct(Pick(shares, {3, 1, 0}), 3);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(*got == secret);
}

TEST(ShamirTest, MoreThanThresholdSharesMustBeConsistent) {
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 3, Points(6)));
  auto all = Pick(shares, {0, 1, 2, 3, 4, 5});
  auto got = ShamirReconstruct(all, 3);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(*got == secret);
  all[4].y.data()[5] ^= 0x01;
  EXPECT_THAT(ShamirReconstruct(all, 3), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(ShamirTest, RandomisedShareInBasisIsDetected) {
  // With exactly t shares there is no redundancy, but a share replaced by
  // random field elements (here: the same point from an unrelated sharing)
  // moves the result out of the 128-bit range except with probability
  // about 2^-124.
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 3, Points(3)));
  KRING_ASSERT_OK_AND_ASSIGN(
      auto other, ShamirSplit(SecretBytes::Random(32), 3, Points(3)));
  auto basis = Pick(shares, {0, 1, 2});
  basis[1] = other[1].Clone();
  EXPECT_THAT(ShamirReconstruct(basis, 3),
              StatusIs(absl::StatusCode::kDataLoss));
}

// Information-theoretic hiding: for any t-1 shares and ANY candidate secret
// there is a polynomial of degree t-1 through them whose constant term is the
// candidate, so the shares say nothing about which secret was shared. We
// build that polynomial's value at a fresh point x = 100 and check that the
// t-1 real shares plus this forged share reconstruct the candidate.
TEST(ShamirTest, ThresholdMinusOneSharesFitEveryCandidateSecret) {
  constexpr int kT = 4;
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, kT, Points(6)));
  int checked = 0;
  ForEachSubset(6, kT - 1, [&](const std::vector<size_t>& idx) {
    for (int trial = 0; trial < 3; ++trial) {
      SecretBytes candidate = SecretBytes::Random(32);
      ShamirShare at_zero{0, SecretBytes(64)};
      std::copy(candidate.data(), candidate.data() + 16, at_zero.y.data());
      std::copy(candidate.data() + 16, candidate.data() + 32,
                at_zero.y.data() + 32);
      std::vector<ShamirShare> points = Pick(shares, idx);
      points.push_back(std::move(at_zero));
      auto forged_y = internal::ShamirInterpolateAt(points, 100);
      ASSERT_THAT(forged_y, IsOk());
      std::vector<ShamirShare> forged = Pick(shares, idx);
      forged.push_back({100, *std::move(forged_y)});
      auto got = ShamirReconstruct(forged, kT);
      ASSERT_THAT(got, IsOk());
      EXPECT_TRUE(*got == candidate);
      EXPECT_FALSE(*got == secret);
      ++checked;
    }
  });
  EXPECT_EQ(checked, 20 * 3);
}

TEST(ShamirTest, RejectsBadParameters) {
  SecretBytes secret = SecretBytes::Random(32);
  auto xs = Points(5);
  EXPECT_THAT(ShamirSplit(secret, 0, xs),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirSplit(secret, 6, xs),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirSplit(SecretBytes::Random(31), 3, xs),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint32_t> dup = {1, 2, 2};
  EXPECT_THAT(ShamirSplit(secret, 2, dup),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint32_t> zero = {0, 1, 2};
  EXPECT_THAT(ShamirSplit(secret, 2, zero),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShamirTest, TooFewOrDuplicateSharesAreErrors) {
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 3, Points(5)));
  EXPECT_THAT(ShamirReconstruct(Pick(shares, {0, 1}), 3),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ShamirReconstruct(Pick(shares, {0, 1, 1}), 3),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirReconstruct(Pick(shares, {0, 1, 2}), 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShamirTest, SerializeParseRoundTrip) {
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 2, Points(3)));
  std::vector<ShamirShare> parsed;
  for (const auto& s : shares) {
    SecretBytes wire = s.Serialize();
    EXPECT_EQ(wire.size(), ShamirShare::kSerializedBytes);
    KRING_ASSERT_OK_AND_ASSIGN(ShamirShare p, ShamirShare::Parse(wire.view()));
    EXPECT_EQ(p.x, s.x);
    EXPECT_TRUE(p.y == s.y);
    parsed.push_back(std::move(p));
  }
  auto got = ShamirReconstruct(parsed, 2);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(*got == secret);
}

TEST(ShamirTest, ParseRejectsMalformedShares) {
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 2, Points(2)));
  std::string wire(shares[0].Serialize().view());
  EXPECT_THAT(ShamirShare::Parse(wire.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirShare::Parse(wire + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string zero_x = wire;
  zero_x[0] = zero_x[1] = zero_x[2] = zero_x[3] = '\0';
  EXPECT_THAT(ShamirShare::Parse(zero_x),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string noncanonical = wire;
  std::fill(noncanonical.begin() + 4, noncanonical.begin() + 36, '\xff');
  EXPECT_THAT(ShamirShare::Parse(noncanonical),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::crypto
