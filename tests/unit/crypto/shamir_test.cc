#include "crypto/shamir.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
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

// ---- ShamirInterpolator: Lagrange weights shared between secrets ----

using Scalar = std::array<uint8_t, crypto_core_ristretto255_SCALARBYTES>;

Scalar ScalarOf(uint32_t v) {
  Scalar s{};
  for (int i = 0; i < 4; ++i) s[i] = static_cast<uint8_t>(v >> (8 * i));
  return s;
}

// Lagrange interpolation at 0 straight from the definition, one field
// inversion per weight: w_j = prod_{m != j} x_m / (x_m - x_j). Independent
// of the library's batched weights.
SecretBytes NaiveReconstruct(const std::vector<const ShamirShare*>& shares) {
  SecretBytes secret(32);
  for (size_t half = 0; half < 2; ++half) {
    Scalar acc{};
    for (size_t j = 0; j < shares.size(); ++j) {
      Scalar num = ScalarOf(1), den = ScalarOf(1), w, term;
      for (size_t m = 0; m < shares.size(); ++m) {
        if (m == j) continue;
        Scalar xm = ScalarOf(shares[m]->x), xj = ScalarOf(shares[j]->x), d;
        crypto_core_ristretto255_scalar_mul(num.data(), num.data(), xm.data());
        crypto_core_ristretto255_scalar_sub(d.data(), xm.data(), xj.data());
        crypto_core_ristretto255_scalar_mul(den.data(), den.data(), d.data());
      }
      EXPECT_EQ(crypto_core_ristretto255_scalar_invert(den.data(), den.data()),
                0);
      crypto_core_ristretto255_scalar_mul(w.data(), num.data(), den.data());
      crypto_core_ristretto255_scalar_mul(term.data(), w.data(),
                                          shares[j]->y.data() + 32 * half);
      crypto_core_ristretto255_scalar_add(acc.data(), acc.data(), term.data());
    }
    std::memcpy(secret.data() + 16 * half, acc.data(), 16);
  }
  return secret;
}

std::vector<const ShamirShare*> Pointers(const std::vector<ShamirShare>& all,
                                         const std::vector<size_t>& idx) {
  std::vector<const ShamirShare*> out;
  for (size_t i : idx) out.push_back(&all[i]);
  return out;
}

TEST(ShamirInterpolatorTest, ReusedWeightsEqualNaiveReconstruction) {
  std::mt19937 rng(20261203);
  for (auto [t, n] : std::vector<std::pair<int, uint32_t>>{
           {1, 3}, {2, 2}, {3, 7}, {17, 25}, {64, 97}}) {
    // Distinct random points, some far apart (up to 2^32 - 1).
    std::set<uint32_t> unique;
    while (unique.size() < n) {
      uint32_t x = unique.size() % 3 == 0 ? static_cast<uint32_t>(rng())
                                          : 1 + rng() % (4 * n);
      if (x != 0) unique.insert(x);
    }
    std::vector<uint32_t> xs(unique.begin(), unique.end());
    std::shuffle(xs.begin(), xs.end(), rng);
    // Holders that "dropped": a random t of the n points remain, in
    // increasing order of x.
    std::vector<size_t> kept(n);
    std::iota(kept.begin(), kept.end(), size_t{0});
    std::shuffle(kept.begin(), kept.end(), rng);
    kept.resize(t);
    std::sort(kept.begin(), kept.end(),
              [&](size_t a, size_t b) { return xs[a] < xs[b]; });
    std::vector<uint32_t> points;
    for (size_t i : kept) points.push_back(xs[i]);
    KRING_ASSERT_OK_AND_ASSIGN(auto interp, ShamirInterpolator::Create(points));
    EXPECT_EQ(interp.points(), points);
    for (int secret_no = 0; secret_no < 5; ++secret_no) {
      SecretBytes secret = SecretBytes::Random(32);
      KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, t, xs));
      auto chosen = Pointers(shares, kept);
      KRING_ASSERT_OK_AND_ASSIGN(SecretBytes got, interp.Reconstruct(chosen));
      EXPECT_TRUE(got == secret) << "t=" << t << " n=" << n;
      EXPECT_TRUE(got == NaiveReconstruct(chosen)) << "t=" << t << " n=" << n;
      KRING_ASSERT_OK_AND_ASSIGN(SecretBytes classic,
                                 ShamirReconstruct(Pick(shares, kept), t));
      EXPECT_TRUE(classic == got);
    }
  }
}

TEST(ShamirInterpolatorTest, BelowThresholdDoesNotReconstruct) {
  // t - 1 shares of a degree t-1 polynomial interpolate to an unrelated
  // field element, which is outside the secret range except with
  // probability about 2^-124.
  constexpr int kT = 5;
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, kT, Points(8)));
  std::vector<size_t> few = {1, 3, 4, 6};
  std::vector<uint32_t> points;
  for (size_t i : few) points.push_back(shares[i].x);
  KRING_ASSERT_OK_AND_ASSIGN(auto interp, ShamirInterpolator::Create(points));
  EXPECT_THAT(interp.Reconstruct(Pointers(shares, few)),
              StatusIs(absl::StatusCode::kDataLoss));
  // An interpolator for t points refuses t - 1 shares.
  points.push_back(shares[7].x);
  KRING_ASSERT_OK_AND_ASSIGN(auto full, ShamirInterpolator::Create(points));
  EXPECT_THAT(full.Reconstruct(Pointers(shares, few)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  KRING_ASSERT_OK_AND_ASSIGN(
      SecretBytes got, full.Reconstruct(Pointers(shares, {1, 3, 4, 6, 7})));
  EXPECT_TRUE(got == secret);
}

TEST(ShamirInterpolatorTest, RejectsMismatchedMalformedAndCorruptShares) {
  SecretBytes secret = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto shares, ShamirSplit(secret, 3, Points(5)));
  std::vector<uint32_t> points = {1, 2, 3};
  KRING_ASSERT_OK_AND_ASSIGN(auto interp, ShamirInterpolator::Create(points));
  // A share at another point than the interpolator's, or in another order.
  EXPECT_THAT(interp.Reconstruct(Pointers(shares, {0, 1, 3})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(interp.Reconstruct(Pointers(shares, {1, 0, 2})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<const ShamirShare*> with_null = {&shares[0], nullptr, &shares[2]};
  EXPECT_THAT(interp.Reconstruct(with_null),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A value that is not a canonical scalar, and one of the wrong size.
  auto bad = Pick(shares, {0, 1, 2});
  std::fill(bad[1].y.data(), bad[1].y.data() + 32, 0xff);
  EXPECT_THAT(interp.Reconstruct(Pointers(bad, {0, 1, 2})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  bad[1] = ShamirShare{2, SecretBytes(63)};
  EXPECT_THAT(interp.Reconstruct(Pointers(bad, {0, 1, 2})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A share replaced by random field elements (the same point of an
  // unrelated sharing) moves the result out of the secret range.
  KRING_ASSERT_OK_AND_ASSIGN(
      auto other, ShamirSplit(SecretBytes::Random(32), 3, Points(5)));
  auto corrupt = Pick(shares, {0, 1, 2});
  corrupt[2] = other[2].Clone();
  EXPECT_THAT(interp.Reconstruct(Pointers(corrupt, {0, 1, 2})),
              StatusIs(absl::StatusCode::kDataLoss));
  // Bad point sets.
  EXPECT_THAT(ShamirInterpolator::Create(std::vector<uint32_t>{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirInterpolator::Create(std::vector<uint32_t>{1, 0, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ShamirInterpolator::Create(std::vector<uint32_t>{4, 9, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShamirTest, CanonicalMeansBelowTheGroupOrder) {
  // l = 2^252 + 27742317777372353535851937790883648493, little-endian.
  const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                         0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                         0,    0,    0,    0,    0,    0,    0,    0,
                         0,    0,    0,    0,    0,    0,    0,    0x10};
  std::vector<uint8_t> y(64, 0);
  std::memcpy(y.data() + 32, l, 32);
  EXPECT_THAT(ShamirShare::FromParts(1, y),
              StatusIs(absl::StatusCode::kInvalidArgument));
  y[32] -= 1;  // l - 1
  EXPECT_THAT(ShamirShare::FromParts(1, y), IsOk());
  EXPECT_THAT(ShamirShare::FromParts(0, y),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::crypto
