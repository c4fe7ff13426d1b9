#include "crypto/secagg/parameters.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOkAndHolds;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

// Relative slack for comparisons against the bounds: the library sums in
// double precision, the reference below in long double.
constexpr long double kSlack = 1e-9L;

// P[Bin(k, p) > c] by direct summation in long double (independent of the
// library's log-space evaluation).
long double UpperTail(uint32_t k, double p, int64_t c) {
  if (c < 0) return 1.0L;
  const long double lp = p, lq = 1.0L - lp;
  long double sum = 0.0L;
  long double binom = 1.0L;  // C(k, i)
  for (uint32_t i = 1; i <= k; ++i) {
    binom = binom * (k - i + 1) / i;
    if (static_cast<int64_t>(i) > c) {
      sum += binom * std::pow(lp, i) * std::pow(lq, k - i);
    }
  }
  return sum;
}

long double Pow2(int e) { return std::ldexp(1.0L, e); }

// Condition (a) with slack: n * P[Bin(k, gamma) > c] <= 2^-sigma.
bool CorruptBoundHolds(uint32_t n, uint32_t k, const SecurityGoals& g,
                       int64_t c, long double slack) {
  return n * UpperTail(k, g.corrupt_fraction, c) <=
         Pow2(-g.security_bits) * (1.0L + slack);
}

// The smallest c meeting (a), by bisection (the tail falls as c grows).
int64_t ReferenceCorruptBound(uint32_t n, uint32_t k, const SecurityGoals& g) {
  int64_t lo = 0, hi = k;  // (a) holds at c = k
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (CorruptBoundHolds(n, k, g, mid, 0.0L)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

int64_t ReferenceThreshold(uint32_t k, int64_t c) {
  return (k + 1 + c) / 2 + 1;
}

bool DropoutHolds(uint32_t n, uint32_t k, const SecurityGoals& g, int64_t t,
                  long double slack) {
  return n * UpperTail(k, g.dropout_fraction, static_cast<int64_t>(k) - t) <=
         Pow2(-g.correctness_bits) * (1.0L + slack);
}

bool ConnectivityHolds(uint32_t n, uint32_t k, const SecurityGoals& g,
                       long double slack) {
  const long double f = static_cast<long double>(g.corrupt_fraction) +
                        static_cast<long double>(g.dropout_fraction);
  return n * std::pow(f, static_cast<long double>(k / 2)) <=
         Pow2(-g.security_bits) * (1.0L + slack);
}

// Every sparse result must satisfy (a)-(d) exactly as documented, with c
// minimal, and no smaller even k may satisfy them.
void ExpectSparseResultValid(uint32_t n, const SecurityGoals& g,
                             const GraphParameters& p) {
  SCOPED_TRACE(::testing::Message()
               << "n = " << n << ", k = " << p.degree << ", t = " << p.threshold
               << ", c = " << p.corrupt_bound);
  ASSERT_FALSE(p.complete);
  const uint32_t k = p.degree;
  EXPECT_EQ(k % 2, 0u);
  EXPECT_GE(k, 2u);
  EXPECT_LT(k, n - 1);
  // (a) and minimality of c.
  EXPECT_TRUE(CorruptBoundHolds(n, k, g, p.corrupt_bound, kSlack));
  if (p.corrupt_bound > 0) {
    EXPECT_FALSE(CorruptBoundHolds(n, k, g, p.corrupt_bound - 1, -kSlack));
  }
  // (b)
  EXPECT_EQ(p.threshold, ReferenceThreshold(k, p.corrupt_bound));
  EXPECT_GT(2 * static_cast<int64_t>(p.threshold),
            static_cast<int64_t>(k) + 1 + p.corrupt_bound);
  EXPECT_LE(p.threshold, k);
  // (c), (d)
  EXPECT_TRUE(DropoutHolds(n, k, g, p.threshold, kSlack));
  EXPECT_TRUE(ConnectivityHolds(n, k, g, kSlack));
  // No smaller even k works.
  for (uint32_t smaller = 2; smaller < k; smaller += 2) {
    const int64_t c = ReferenceCorruptBound(n, smaller, g);
    const int64_t t = ReferenceThreshold(smaller, c);
    EXPECT_FALSE(DropoutHolds(n, smaller, g, t, -kSlack) &&
                 ConnectivityHolds(n, smaller, g, -kSlack))
        << "k = " << smaller << " also meets the goals";
  }
}

SecurityGoals SparseGoals() {
  SecurityGoals g;  // gamma 0.05, delta 0.10, sigma 40, eta 20
  g.complete_graph_max = 0;
  return g;
}

TEST(ChooseParametersTest, ReferenceFigures) {
  // From a Python check that used t = floor((k+c)/2) + 1; ours adds the
  // node itself to its committee, so k and t may be 2 higher.
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p1000,
                             ChooseParameters(1000, SparseGoals()));
  EXPECT_FALSE(p1000.complete);
  EXPECT_NEAR(p1000.degree, 86, 2);
  EXPECT_NEAR(p1000.threshold, 57, 2);
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p10000,
                             ChooseParameters(10000, SparseGoals()));
  EXPECT_FALSE(p10000.complete);
  EXPECT_NEAR(p10000.degree, 96, 2);
  EXPECT_NEAR(p10000.threshold, 64, 2);
}

TEST(ChooseParametersTest, GoldenTable) {
  // The table in parameters.cc (cross-checked with 50-digit mpmath).
  struct Row {
    uint32_t n, k, t, c;
  };
  for (const Row& row :
       {Row{100, 80, 54, 25}, Row{1000, 88, 59, 28}, Row{10000, 96, 64, 30}}) {
    KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p,
                               ChooseParameters(row.n, SparseGoals()));
    EXPECT_FALSE(p.complete) << row.n;
    EXPECT_EQ(p.degree, row.k) << row.n;
    EXPECT_EQ(p.threshold, row.t) << row.n;
    EXPECT_EQ(p.corrupt_bound, row.c) << row.n;
  }
}

TEST(ChooseParametersTest, SparseResultsMeetEveryCondition) {
  struct Case {
    double gamma, delta;
    int sigma, eta;
    std::vector<uint32_t> ns;
  };
  const std::vector<Case> cases = {
      {0.05, 0.10, 40, 20, {200, 1000, 5000, 50000, 1000000}},
      {0.00, 0.10, 40, 20, {200, 1000, 50000}},
      {0.05, 0.00, 40, 20, {200, 1000, 50000}},
      {0.00, 0.00, 40, 20, {200, 1000}},
      {0.01, 0.05, 20, 10, {200, 1000, 5000, 50000}},
      {0.10, 0.20, 60, 30, {1000, 50000}},  // k around 400
      {0.05, 0.10, 128, 64, {1000, 100000}},
  };
  for (const Case& tc : cases) {
    SecurityGoals goals = SparseGoals();
    goals.corrupt_fraction = tc.gamma;
    goals.dropout_fraction = tc.delta;
    goals.security_bits = tc.sigma;
    goals.correctness_bits = tc.eta;
    for (uint32_t n : tc.ns) {
      SCOPED_TRACE(::testing::Message()
                   << "gamma = " << tc.gamma << ", delta = " << tc.delta
                   << ", sigma = " << tc.sigma << ", eta = " << tc.eta);
      KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(n, goals));
      ExpectSparseResultValid(n, goals, p);
    }
  }
}

TEST(ChooseParametersTest, DegreeIsNonDecreasingInN) {
  const SecurityGoals goals;  // defaults: complete graph up to 100 nodes
  uint32_t previous = 0;
  for (uint32_t n : {101u, 150u, 200u, 300u, 500u, 1000u, 2000u, 5000u, 10000u,
                     100000u, 1000000u, 100000000u}) {
    KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(n, goals));
    EXPECT_FALSE(p.complete) << n;
    EXPECT_GE(p.degree, previous) << n;
    previous = p.degree;
  }
}

TEST(ChooseParametersTest, ThresholdAlwaysExceedsHalfOfHoldersPlusCorrupt) {
  for (double gamma : {0.0, 0.01, 0.05, 0.1, 0.2}) {
    for (double delta : {0.0, 0.05, 0.1, 0.2}) {
      for (uint32_t n : {3u, 10u, 50u, 100u, 101u, 1000u, 20000u}) {
        SecurityGoals g;
        g.corrupt_fraction = gamma;
        g.dropout_fraction = delta;
        auto p = ChooseParameters(n, g);
        if (!p.ok()) continue;  // some combinations are infeasible
        EXPECT_GT(2 * static_cast<uint64_t>(p->threshold),
                  uint64_t{p->degree} + 1 + p->corrupt_bound)
            << n << " " << gamma << " " << delta;
        EXPECT_LE(p->threshold, p->degree)
            << "a dropped node must keep t live holders";
      }
    }
  }
}

TEST(ChooseParametersTest, CompleteGraphForSmallN) {
  const SecurityGoals goals;  // gamma 0.05, delta 0.10, complete up to 100
  for (uint32_t n = 3; n <= 100; ++n) {
    KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(n, goals));
    EXPECT_TRUE(p.complete) << n;
    EXPECT_EQ(p.degree, n - 1) << n;
    const uint32_t c = static_cast<uint32_t>(std::floor(0.05 * n));
    const uint32_t dropped = static_cast<uint32_t>(std::floor(0.10 * n));
    EXPECT_EQ(p.corrupt_bound, c) << n;
    EXPECT_EQ(p.threshold, (n + c) / 2 + 1) << n;
    EXPECT_GE(p.degree - dropped, p.threshold) << n;
  }
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(100, goals));
  EXPECT_EQ(p.corrupt_bound, 5u);
  EXPECT_EQ(p.threshold, 53u);
}

TEST(ChooseParametersTest, TwoNodesCannotToleratePlannedDropouts) {
  SecurityGoals g;
  // c = 0 and floor(0.1 * 2) = 0, so t = floor((2 + 0)/2) + 1 = 2, but the
  // (conservative) count of a dropped node's live holders is k - 0 = 1.
  EXPECT_THAT(ChooseParameters(2, g),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dropout goal (c)")));
}

TEST(ChooseParametersTest, FallsBackToCompleteGraphWhenNoSparseDegreeFits) {
  // n = 60 is too small for a sparse graph under these goals (k would have
  // to be about 80), but the complete graph meets them deterministically.
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p,
                             ChooseParameters(60, SparseGoals()));
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.degree, 59u);
  EXPECT_EQ(p.corrupt_bound, 3u);
  EXPECT_EQ(p.threshold, 32u);
}

TEST(ChooseParametersTest, ImpossibleGoalsAreErrors) {
  SecurityGoals g;
  g.corrupt_fraction = 0.4;
  g.dropout_fraction = 0.4;
  for (uint32_t n : {10u, 100u, 1000u, 1000000u}) {
    EXPECT_THAT(ChooseParameters(n, g),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("dropout goal (c)")))
        << n;
  }
  // gamma + 2 delta = 1: no k works; the search stops at k = 65534 and the
  // complete graph misses (c) by two holders.
  g.corrupt_fraction = 0.2;
  g.dropout_fraction = 0.4;
  for (uint32_t n : {1000000u, 0xffffffffu}) {
    EXPECT_THAT(ChooseParameters(n, g),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("no even degree 2 <= k < n-1, k <= 65534")))
        << n;
  }
}

TEST(ChooseParametersTest, DegreeAboveTheCapFallsBackToCompleteGraph) {
  // gamma + 2 delta = 0.98 would need k in the hundreds of thousands.
  SecurityGoals g;
  g.corrupt_fraction = 0.3;
  g.dropout_fraction = 0.34;
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(1000000, g));
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.degree, 999999u);
  EXPECT_EQ(p.corrupt_bound, 300000u);
  EXPECT_EQ(p.threshold, 650001u);
}

TEST(ChooseParametersTest, LargeDegreesAreFoundExactly) {
  // gamma + 2 delta = 0.9: k is in the thousands, well below the cap.
  SecurityGoals g = SparseGoals();
  g.corrupt_fraction = 0.3;
  g.dropout_fraction = 0.3;
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters p, ChooseParameters(1000000, g));
  EXPECT_FALSE(p.complete);
  EXPECT_GT(p.degree, 5000u);
  EXPECT_LT(p.degree, 20000u);
  // Spot-check (a)-(c) at this size with the reference sums.
  EXPECT_TRUE(CorruptBoundHolds(1000000, p.degree, g, p.corrupt_bound, kSlack));
  EXPECT_FALSE(
      CorruptBoundHolds(1000000, p.degree, g, p.corrupt_bound - 1, -kSlack));
  EXPECT_EQ(p.threshold, ReferenceThreshold(p.degree, p.corrupt_bound));
  EXPECT_TRUE(DropoutHolds(1000000, p.degree, g, p.threshold, kSlack));
  EXPECT_TRUE(ConnectivityHolds(1000000, p.degree, g, kSlack));
}

TEST(ChooseParametersTest, RejectsInvalidGoals) {
  const auto invalid = [](uint32_t n, const SecurityGoals& g,
                          const char* what) {
    EXPECT_THAT(ChooseParameters(n, g),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what)));
  };
  SecurityGoals ok;
  invalid(0, ok, "at least 2 nodes");
  invalid(1, ok, "at least 2 nodes");
  SecurityGoals g = ok;
  g.corrupt_fraction = -0.01;
  invalid(1000, g, "corrupt_fraction");
  g.corrupt_fraction = 1.0;
  invalid(1000, g, "corrupt_fraction");
  g.corrupt_fraction = std::numeric_limits<double>::quiet_NaN();
  invalid(1000, g, "corrupt_fraction");
  g = ok;
  g.dropout_fraction = 1.0;
  invalid(1000, g, "dropout_fraction");
  g.dropout_fraction = -1;
  invalid(1000, g, "dropout_fraction");
  g = ok;
  g.corrupt_fraction = 0.5;
  g.dropout_fraction = 0.5;
  invalid(1000, g, "below 1");
  g = ok;
  g.security_bits = 0;
  invalid(1000, g, "security_bits");
  g.security_bits = 129;
  invalid(1000, g, "security_bits");
  g = ok;
  g.correctness_bits = 0;
  invalid(1000, g, "correctness_bits");
  g.correctness_bits = 65;
  invalid(1000, g, "correctness_bits");
}

TEST(ChooseParametersTest, StrongerGoalsNeedLargerDegree) {
  SecurityGoals weak = SparseGoals();
  SecurityGoals strong = SparseGoals();
  strong.security_bits = 80;
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters a, ChooseParameters(1000, weak));
  KRING_ASSERT_OK_AND_ASSIGN(GraphParameters b, ChooseParameters(1000, strong));
  EXPECT_GE(b.degree, a.degree);
  ExpectSparseResultValid(1000, strong, b);
}

TEST(ChooseModulusBitsTest, Examples) {
  const std::vector<uint64_t> four = {4};
  EXPECT_THAT(ChooseModulusBits(four, 1000), IsOkAndHolds(12));  // 4000 < 4096
  const std::vector<uint64_t> one = {1};
  EXPECT_THAT(ChooseModulusBits(one, 1), IsOkAndHolds(1));
  const std::vector<uint64_t> zero = {0};
  EXPECT_THAT(ChooseModulusBits(zero, 5), IsOkAndHolds(1));
  const std::vector<uint64_t> mixed = {1, 4000, 3};
  EXPECT_THAT(ChooseModulusBits(mixed, 1), IsOkAndHolds(12));
  const std::vector<uint64_t> b4095 = {4095}, b4096 = {4096};
  EXPECT_THAT(ChooseModulusBits(b4095, 1), IsOkAndHolds(12));
  EXPECT_THAT(ChooseModulusBits(b4096, 1), IsOkAndHolds(13));
  const std::vector<uint64_t> max = {~uint64_t{0}};
  EXPECT_THAT(ChooseModulusBits(max, 1), IsOkAndHolds(64));
  // (2^32 + 1) * (2^32 - 1) = 2^64 - 1 still fits.
  const std::vector<uint64_t> edge = {(uint64_t{1} << 32) + 1};
  EXPECT_THAT(ChooseModulusBits(edge, 0xffffffffu), IsOkAndHolds(64));
}

TEST(ChooseModulusBitsTest, Errors) {
  const std::vector<uint64_t> max = {~uint64_t{0}};
  EXPECT_THAT(ChooseModulusBits(max, 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 64 bits")));
  const std::vector<uint64_t> big = {uint64_t{1} << 33};
  EXPECT_THAT(ChooseModulusBits(big, 1u << 31),  // exactly 2^64
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ChooseModulusBits({}, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

}  // namespace
}  // namespace kring::crypto::secagg
