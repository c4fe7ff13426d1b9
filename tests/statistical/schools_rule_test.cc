// Monte Carlo check of the schools rule's error probabilities
// (NoisePlan::SchoolsAtLeast, docs/privacy.md "The schools rule"): with the
// exact summed noise of a real plan, a cell of two full schools passes a
// threshold of three no more often than the stated bound, a cell of three
// full schools is counted as three almost always, and a single school
// never passes two. Label "statistical"; fixed seeds.

#include <cmath>
#include <cstdint>

#include "crypto/noise.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "survey/instrument.h"

namespace kring::query {
namespace {

constexpr int kTrials = 20000;

struct Counts {
  int at_least_2 = 0, at_least_3 = 0;
};

// SchoolsAtLeast on `true_sum` plus the summed noise of `shares` schools.
Counts Draw(const NoisePlan& plan, int64_t true_sum, uint32_t shares,
            uint64_t seed) {
  crypto::DeterministicRandom rng(seed);
  crypto::Rational total = plan.share_sigma2(Layout::kSchools);
  total.num *= shares;
  Counts c;
  for (int i = 0; i < kTrials; ++i) {
    auto x = crypto::SampleDiscreteGaussian(total, rng);
    EXPECT_TRUE(x.ok());
    const uint64_t k = plan.SchoolsAtLeast(true_sum + *x, shares);
    c.at_least_2 += k >= 2;
    c.at_least_3 += k >= 3;
  }
  return c;
}

TEST(SchoolsRuleStatisticalTest, ErrorsStayWithinTheStatedBounds) {
  auto spec = ParseQuerySpecJson(
      R"({"statistic": "mean", "measures": ["belong_perception"],
          "groupBy": ["track"]})");
  ASSERT_TRUE(spec.ok());
  auto q = Query::Create(*spec, survey::Instrument::BelongingV1());
  ASSERT_TRUE(q.ok());
  const Layout layout(*q);
  auto plan = NoisePlan::Create(layout, 0.1, 5, 7);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto cap = static_cast<int64_t>(plan->school_cap());
  const uint32_t n = 7;
  const double bound = plan->SchoolsRuleError(3, n);

  // Two full schools: passing three is an error, at most `bound` (plus five
  // binomial SDs of slack for the finite sample).
  const Counts two = Draw(*plan, 2 * cap, n, 1);
  const double slack = 5 * std::sqrt(bound * (1 - bound) / kTrials);
  EXPECT_LE(two.at_least_3, kTrials * (bound + slack));
  // Three full schools pass three in all but the same small share.
  const Counts three = Draw(*plan, 3 * cap, n, 2);
  EXPECT_GE(three.at_least_3, kTrials * (1 - bound - slack));
  // One school (its indicator at most the cap) never reaches two: the
  // probability is below 2^-40 per cell.
  const Counts one = Draw(*plan, cap, n, 3);
  EXPECT_EQ(one.at_least_2, 0);
}

}  // namespace
}  // namespace kring::query
