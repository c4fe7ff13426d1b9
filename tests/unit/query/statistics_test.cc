// The statistic classes (query/statistics/): the factory, each kind's
// declared capabilities, its part of the layout, its release rules, and
// negative tests for the spec checks and decoding each kind owns.

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/decode.h"
#include "query/layout.h"
#include "query/spec.h"
#include "query/statistics/helpers.h"
#include "query/statistics/statistic.h"
#include "tests/testing/status_matchers.h"

namespace kring::query::statistics {
namespace {

using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr Statistic kEvery[] = {
    Statistic::kCount,       Statistic::kMean,       Statistic::kDistribution,
    Statistic::kProportion,  Statistic::kCrosstab,   Statistic::kCorrelation,
    Statistic::kReliability, Statistic::kRegression,
};

absl::StatusOr<Query> FromJson(std::string_view json) {
  auto spec = ParseQuerySpecJson(json);
  if (!spec.ok()) return spec.status();
  return Query::Create(*spec, survey::Instrument::BelongingV1());
}

void ExpectInvalid(std::string_view json, std::string_view message) {
  EXPECT_THAT(FromJson(json), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(std::string(message))))
      << json;
}

std::vector<std::string> NamesWhere(bool (StatisticKind::*has)() const) {
  std::vector<std::string> out;
  for (const StatisticKind* s : AllStatistics()) {
    if ((s->*has)()) out.emplace_back(s->name());
  }
  return out;
}

TEST(StatisticsTest, FactoryReturnsTheClassOfEachKind) {
  ASSERT_EQ(AllStatistics().size(), std::size(kEvery));
  for (size_t i = 0; i < std::size(kEvery); ++i) {
    const Statistic s = kEvery[i];
    const StatisticKind& kind = StatisticFor(s);
    EXPECT_EQ(kind.id(), s);
    EXPECT_EQ(kind.name(), StatisticName(s));
    EXPECT_EQ(AllStatistics()[i], &kind);
    EXPECT_EQ(FindStatistic(kind.name()), &kind);
  }
  std::vector<std::string> names;
  for (const StatisticKind* s : AllStatistics()) names.emplace_back(s->name());
  EXPECT_THAT(names, ElementsAre("count", "mean", "distribution", "proportion",
                                 "crosstab", "correlation", "reliability",
                                 "regression"));
}

TEST(StatisticsTest, FindStatisticRejectsUnknownNames) {
  EXPECT_EQ(FindStatistic(""), nullptr);
  EXPECT_EQ(FindStatistic("meen"), nullptr);
  EXPECT_EQ(FindStatistic("Mean"), nullptr);
  // A trend is a way of following a statistic, not a kind of its own.
  EXPECT_EQ(FindStatistic("trend"), nullptr);
}

TEST(StatisticsTest, Capabilities) {
  EXPECT_THAT(NamesWhere(&StatisticKind::CanTrend),
              ElementsAre("count", "mean", "distribution", "proportion"));
  EXPECT_THAT(NamesWhere(&StatisticKind::TakesCutoff),
              ElementsAre("proportion"));
  EXPECT_THAT(NamesWhere(&StatisticKind::TakesPredictors),
              ElementsAre("regression"));
}

TEST(StatisticsTest, SpecOptionsBelongToTheirKind) {
  ExpectInvalid(R"({"statistic": "count", "cutoff": 2})",
                "`cutoff` and `direction` are only for proportion");
  ExpectInvalid(R"({"statistic": "mean", "direction": "above",
                    "measures": ["belong_perception"]})",
                "only for proportion");
  ExpectInvalid(R"({"statistic": "proportion", "direction": "above",
                    "measures": ["belong_perception"]})",
                "needs a `cutoff`");
  ExpectInvalid(R"({"statistic": "mean", "measures": ["belong_perception"],
                    "predictors": ["gender"]})",
                "`predictors` are only for regression");
  ExpectInvalid(R"({"statistic": "mean", "trendOf": "mean",
                    "measures": ["belong_perception"]})",
                "only for statistic `trend`");
  ExpectInvalid(R"({"statistic": "trend", "trendOf": "crosstab",
                    "groupBy": ["track", "gender"],
                    "population": {"waves": ["2024-25"]}})",
                "cannot be followed over waves; use count, mean, "
                "distribution or proportion");
  ExpectInvalid(R"({"statistic": "trend", "trendOf": "regression",
                    "measures": ["belong_perception"],
                    "predictors": ["gender"],
                    "population": {"waves": ["2024-25"]}})",
                "cannot be followed over waves");
  ExpectInvalid(R"({"statistic": "crosstab", "groupBy": ["track", "gender"],
                    "measures": ["ST034Q01"]})",
                "crosstab counts pupils and takes no measures");
  ExpectInvalid(R"({"statistic": "regression",
                    "measures": ["belong_perception"],
                    "predictors": ["belong_perception"]})",
                "is listed twice or is the outcome");
  ExpectInvalid(R"({"statistic": "regression",
                    "measures": ["belong_perception", "ST034Q01"],
                    "predictors": ["gender"]})",
                "exactly one measure, the outcome");
  ExpectInvalid(R"({"statistic": "reliability",
                    "measures": ["belong_perception", "belong_motivation"]})",
                "exactly one measure, a scale");
}

TEST(StatisticsTest, EachKindLaysOutItsBlock) {
  KRING_ASSERT_OK_AND_ASSIGN(
      Query mean,
      FromJson(R"({"statistic": "mean", "measures": ["ST034Q01"]})"));
  EXPECT_THAT(Layout(mean).element_names(),
              ElementsAre("records", "schools", "ST034Q01 n", "ST034Q01 sum",
                          "ST034Q01 sum of squares"));
  KRING_ASSERT_OK_AND_ASSIGN(
      Query share, FromJson(R"({"statistic": "proportion", "cutoff": 2.5,
          "direction": "above", "measures": ["ST034Q01"]})"));
  EXPECT_THAT(
      Layout(share).element_names(),
      ElementsAre("records", "schools", "ST034Q01 n", "ST034Q01 above 2.5"));
  KRING_ASSERT_OK_AND_ASSIGN(Query count,
                             FromJson(R"({"statistic": "count"})"));
  EXPECT_THAT(Layout(count).element_names(), ElementsAre("records", "schools"));
  KRING_ASSERT_OK_AND_ASSIGN(
      Query dist,
      FromJson(R"({"statistic": "distribution", "measures": ["ST034Q01"]})"));
  const Layout ld(dist);
  EXPECT_EQ(ld.DistributionOffset(0), Layout::kStats);
  EXPECT_EQ(ld.element_names()[Layout::kStats], "ST034Q01 answer 1");
  KRING_ASSERT_OK_AND_ASSIGN(Query reg, FromJson(R"({"statistic": "regression",
          "measures": ["belong_perception"],
          "predictors": ["gender", "ST034Q02"]})"));
  const Layout lr(reg);
  // Numeric predictors first, then one dummy per level; the outcome last.
  ASSERT_EQ(lr.design_names().size(), 5u);
  EXPECT_EQ(lr.design_names()[0], "ST034Q02");
  EXPECT_EQ(lr.design_names()[1], "gender=jongen");
  EXPECT_EQ(lr.columns(), 6u);
  EXPECT_EQ(lr.element_names()[lr.SumOffset(5)], "sum belong_perception");
}

TEST(StatisticsTest, WhichFiguresCountPeople) {
  auto counts = [](Statistic s, std::string stat) {
    return StatisticFor(s).CountsPeople(Figure{"m", std::move(stat), 1});
  };
  for (Statistic s : kEvery) {
    EXPECT_TRUE(counts(s, "n")) << StatisticName(s);
    EXPECT_FALSE(counts(s, "mean")) << StatisticName(s);
  }
  EXPECT_TRUE(counts(Statistic::kCount, "count"));
  EXPECT_TRUE(counts(Statistic::kProportion, "k"));
  // A reliability's k is its number of items.
  EXPECT_FALSE(counts(Statistic::kReliability, "k"));
  EXPECT_TRUE(counts(Statistic::kDistribution, "count_3"));
  EXPECT_FALSE(counts(Statistic::kDistribution, "share_3"));
}

TEST(StatisticsTest, SharesAreRecomputedFromRoundedCounts) {
  // Over the sum of the rounded counts, not the rounded n: the shares of
  // an item still sum to 1.
  std::vector<Figure> dist = {{"q", "n", 10},
                              {"q", "count_1", 5},
                              {"q", "count_2", 10},
                              {"q", "share_1", 0.42},
                              {"q", "share_2", 0.58}};
  StatisticFor(Statistic::kDistribution).ShareFromRounded(dist);
  EXPECT_DOUBLE_EQ(dist[3].value, 1.0 / 3);
  EXPECT_DOUBLE_EQ(dist[4].value, 2.0 / 3);
  std::vector<Figure> prop = {{"q", "n", 20},
                              {"q", "k", 5},
                              {"q", "p", 0.3},
                              {"q", "ci_low", 0},
                              {"q", "ci_high", 1}};
  StatisticFor(Statistic::kProportion).ShareFromRounded(prop);
  const Wilson w = WilsonInterval(5, 20);
  EXPECT_EQ(prop[2].value, 0.25);
  EXPECT_EQ(prop[3].value, w.low);
  EXPECT_EQ(prop[4].value, w.high);
  EXPECT_LT(w.low, 0.25);
  EXPECT_GT(w.high, 0.25);
  // Other kinds leave figures alone.
  std::vector<Figure> mean = {{"q", "n", 20}, {"q", "p", 0.3}};
  StatisticFor(Statistic::kMean).ShareFromRounded(mean);
  EXPECT_EQ(mean[1].value, 0.3);
}

// A one-cell query's summed vector with the given block.
absl::StatusOr<Result> DecodeBlock(std::string_view json,
                                   std::vector<uint64_t> block) {
  auto q = FromJson(json);
  if (!q.ok()) return q.status();
  Layout layout(*q);
  block.resize(layout.size(), 0);
  return Decode(layout, block);
}

TEST(StatisticsTest, DecodingRejectsImpossibleSums) {
  const char* mean = R"({"statistic": "mean", "measures": ["ST034Q01"]})";
  EXPECT_THAT(DecodeBlock(mean, {2, 1, 3, 6, 18}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more respondents than records")));
  EXPECT_THAT(DecodeBlock(mean, {2, 1, 2, 2, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inconsistent sums for ST034Q01")));
  KRING_EXPECT_OK(DecodeBlock(mean, {2, 1, 2, 3, 5}));
  EXPECT_THAT(DecodeBlock(R"({"statistic": "proportion", "cutoff": 2,
                              "direction": "below",
                              "measures": ["ST034Q01"]})",
                          {5, 1, 3, 4}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more cases than n")));
  // Correlation: n, two sums, then the products x*x, x*y, y*y.
  const char* corr = R"({"statistic": "correlation",
                         "measures": ["ST034Q01", "ST034Q02"]})";
  EXPECT_THAT(DecodeBlock(corr, {3, 1, 3, 3, 3, 1, 3, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inconsistent sums of squares")));
  KRING_EXPECT_OK(DecodeBlock(corr, {3, 1, 3, 6, 6, 14, 14, 14}));
}

}  // namespace
}  // namespace kring::query::statistics
