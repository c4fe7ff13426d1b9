// The schools rule on noisy indicator sums (query/noise.h,
// NoisePlan::SchoolsAtLeast): its thresholds, checked on exact values. The
// Monte Carlo check of its error probabilities is in
// tests/statistical/schools_rule_test.cc.

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/unit/query/fixture.h"

namespace kring::query {
namespace {

using testing::MustCreate;

// sqrt(2 * 40 * ln 2): a sub-Gaussian tail beyond z SDs is at most 2^-40.
const double kZ = std::sqrt(80.0 * std::log(2.0));

struct Case {
  const char* spec;
  double rho;
  uint32_t min_shares, max_shares;
};

const Case kCases[] = {
    {R"({"statistic": "count"})", 0.1, 3, 3},
    {R"({"statistic": "mean", "measures": ["belong_perception"],
         "groupBy": ["track"]})",
     0.1, 5, 7},
    {R"({"statistic": "proportion", "measures": ["belong_perception"],
         "cutoff": 2.5, "direction": "below",
         "groupBy": ["gender", "grade"]})",
     0.05, 10, 40},
    {R"({"statistic": "count"})", 1.0, 20, 30},
};

// The cap is five noise SDs of the indicator summed over the roster.
TEST(SchoolsRuleTest, TheCapIsFiveNoiseSdsOfTheSummedIndicator) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.spec);
    const Query q = MustCreate(c.spec);
    auto plan = NoisePlan::Create(Layout(q), c.rho, c.min_shares, c.max_shares);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const double sd =
        std::sqrt(plan->NoiseVariance(Layout::kSchools, c.max_shares));
    EXPECT_GE(static_cast<double>(plan->school_cap()), 5 * sd);
    EXPECT_LT(static_cast<double>(plan->school_cap()), 5 * sd + 1);
    // Its data bound in secure aggregation is the cap.
    EXPECT_GE(plan->NodeBounds()[Layout::kSchools],
              plan->school_cap() + 2 * plan->offset(Layout::kSchools));
  }
}

// A cell of one school has an indicator sum of at most the cap; it is
// estimated at two schools or more only when the noise exceeds z SDs.
TEST(SchoolsRuleTest, OneSchoolNeedsNoiseBeyondTwoToTheMinus40) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.spec);
    const Query q = MustCreate(c.spec);
    auto plan = NoisePlan::Create(Layout(q), c.rho, c.min_shares, c.max_shares);
    ASSERT_TRUE(plan.ok()) << plan.status();
    for (uint32_t shares = c.min_shares; shares <= c.max_shares; ++shares) {
      const double sd =
          std::sqrt(plan->NoiseVariance(Layout::kSchools, shares));
      const auto cap = static_cast<int64_t>(plan->school_cap());
      const auto below = cap + static_cast<int64_t>(std::floor(kZ * sd)) - 1;
      EXPECT_EQ(plan->SchoolsAtLeast(below, shares), 1u) << shares;
      EXPECT_EQ(plan->SchoolsAtLeast(0, shares), 1u);
      EXPECT_EQ(plan->SchoolsAtLeast(-1000, shares), 1u);
    }
  }
}

// Without noise, k >= 3 schools with at least cap respondents each are
// counted exactly; the estimate never exceeds the schools that added noise
// and grows with the sum.
TEST(SchoolsRuleTest, FullSchoolsAreCountedAndTheEstimateIsMonotone) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.spec);
    const Query q = MustCreate(c.spec);
    auto plan = NoisePlan::Create(Layout(q), c.rho, c.min_shares, c.max_shares);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const auto cap = static_cast<int64_t>(plan->school_cap());
    const uint32_t n = c.max_shares;
    for (uint32_t k = 3; k <= n; ++k) {
      EXPECT_EQ(plan->SchoolsAtLeast(cap * k, n), k);
    }
    EXPECT_EQ(plan->SchoolsAtLeast(cap * (n + 10), n), n);
    uint64_t last = 0;
    for (int64_t s = 0; s <= cap * (n + 1);
         s += std::max<int64_t>(1, cap / 7)) {
      const uint64_t k = plan->SchoolsAtLeast(s, n);
      EXPECT_GE(k, last) << s;
      last = k;
    }
  }
}

// The stated error: for k >= 3 the margin is half a cap, 2.5 noise SDs at
// the roster, so the sub-Gaussian bound is exp(-3.125) there; smaller with
// fewer schools (less noise).
TEST(SchoolsRuleTest, TheStatedErrorFollowsTheMargin) {
  const Query q = MustCreate(kCases[1].spec);
  auto plan = NoisePlan::Create(Layout(q), 0.1, 5, 7);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->SchoolsRuleError(1, 7), 0.0);
  const double at_roster = plan->SchoolsRuleError(3, 7);
  EXPECT_LE(at_roster, std::exp(-3.125) + 1e-12);
  EXPECT_GT(at_roster, std::exp(-3.3));
  EXPECT_LT(plan->SchoolsRuleError(3, 5), at_roster);
  // k = 2 needs the 2^-40 margin itself.
  EXPECT_LE(plan->SchoolsRuleError(2, 7), std::ldexp(1.0, -40) * 1.0001);
}

// The indicator a school puts in a cell is min(respondents, cap).
TEST(SchoolsRuleTest, ASchoolPutsItsRespondentsUpToTheCapInTheIndicator) {
  const Query q = MustCreate(R"({"statistic": "count"})");
  const Layout layout(q);
  std::vector<v1::PupilRecord> records(12);
  for (auto& r : records) {
    r.set_wave("2025-26");
  }
  for (uint64_t cap : {1u, 5u, 12u, 40u}) {
    auto v = Contribution(layout, records, "0344", cap);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ((*v)[Layout::kSchools], std::min<uint64_t>(12, cap));
    EXPECT_EQ((*v)[Layout::kRecords], 12u);
  }
}

}  // namespace
}  // namespace kring::query
