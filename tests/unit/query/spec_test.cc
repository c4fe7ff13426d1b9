#include "query/spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/layout.h"
#include "tests/testing/status_matchers.h"

namespace kring::query {
namespace {

using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

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

TEST(SpecTest, TyposGetSuggestions) {
  ExpectInvalid(R"({"statistic": "mean", "measures": ["belong_percption"]})",
                "did you mean `belong_perception`?");
  ExpectInvalid(R"({"statistic": "meen", "measures": ["belong_perception"]})",
                "did you mean `mean`?");
  ExpectInvalid(R"({"statistic": "count", "groupBy": ["trak"]})",
                "did you mean `track`?");
  ExpectInvalid(R"({"statistic": "count", "gropBy": ["track"]})",
                "unknown field `gropBy` — did you mean `groupBy`?");
  ExpectInvalid(R"({"statistic": "count", "population": {"wave": []}})",
                "unknown field `population.wave` — did you mean `waves`?");
  ExpectInvalid(R"({"statistic": "regression",
                    "measures": ["belong_perception"],
                    "predictors": ["gendr"]})",
                "did you mean `gender`?");
  ExpectInvalid(R"({"statistic": "count", "groupBy": ["xyzzy"]})",
                "known: municipality, sector");
}

TEST(SpecTest, MalformedInputIsAnErrorNotACrash) {
  ExpectInvalid("", "not valid JSON");
  ExpectInvalid("[1, 2]", "expected a JSON object");
  ExpectInvalid(R"({"statistic": 3})", "wrong type");
  ExpectInvalid(R"({"statistic": "count", "population": {"grades": ["x"]}})",
                "wrong type");
  ExpectInvalid(R"({"measures": ["belong_perception"]})",
                "`statistic` is missing");
}

TEST(SpecTest, EachStatisticChecksItsShape) {
  ExpectInvalid(R"({"statistic": "mean"})", "at least one measure");
  ExpectInvalid(R"({"statistic": "count", "measures": ["ST034Q01"]})",
                "takes no measures");
  ExpectInvalid(R"({"statistic": "distribution",
                    "measures": ["belong_perception"]})",
                "is a scale");
  ExpectInvalid(R"({"statistic": "proportion",
                    "measures": ["belong_perception"]})",
                "needs a `cutoff`");
  ExpectInvalid(R"({"statistic": "proportion", "cutoff": 2.5,
                    "direction": "under", "measures": ["belong_perception"]})",
                "below or above");
  ExpectInvalid(R"({"statistic": "crosstab", "groupBy": ["track"]})",
                "exactly two groupBy");
  ExpectInvalid(R"({"statistic": "correlation",
                    "measures": ["belong_perception"]})",
                "at least two measures");
  ExpectInvalid(R"({"statistic": "reliability", "measures": ["ST034Q01"]})",
                "a scale");
  ExpectInvalid(R"({"statistic": "regression",
                    "measures": ["belong_perception"]})",
                "at least one predictor");
  ExpectInvalid(R"({"statistic": "trend", "measures": ["belong_perception"],
                    "population": {"waves": ["2024-25"]}})",
                "needs `trendOf`");
  ExpectInvalid(R"({"statistic": "trend", "trendOf": "mean",
                    "measures": ["belong_perception"]})",
                "population.waves");
  ExpectInvalid(R"({"statistic": "count",
                    "groupBy": ["track", "gender", "grade"]})",
                "at most 2 group variables");
  ExpectInvalid(R"({"statistic": "count", "groupBy": ["municipality"]})",
                "population.municipalities");
  ExpectInvalid(R"({"statistic": "mean", "cutoff": 2,
                    "measures": ["belong_perception"]})",
                "only for proportion");
  ExpectInvalid(R"({"statistic": "count",
                    "population": {"municipalities": ["Amsterdam"]}})",
                "CBS municipality code");
  ExpectInvalid(R"({"statistic": "count", "population": {"waves": ["2025"]}})",
                "population.waves");
  ExpectInvalid(R"({"statistic": "count", "population": {"tracks": ["gym"]}})",
                "population.tracks");
}

TEST(SpecTest, PrivacyCostIsParsedAndBounded) {
  KRING_ASSERT_OK_AND_ASSIGN(Query d, FromJson(R"({"statistic": "count"})"));
  EXPECT_DOUBLE_EQ(d.rho(), kDefaultQueryRho);
  KRING_ASSERT_OK_AND_ASSIGN(
      Query q, FromJson(R"({"statistic": "count", "privacy": {"rho": 0.05}})"));
  EXPECT_DOUBLE_EQ(q.rho(), 0.05);
  EXPECT_THAT(q.Summary(), HasSubstr("privacy cost ρ = 0.05 per pupil"));
  for (const char* bad :
       {R"({"statistic": "count", "privacy": {"rho": -1}})",
        R"({"statistic": "count", "privacy": {"rho": 1.5}})"}) {
    auto r = FromJson(bad);
    if (r.ok()) {
      ADD_FAILURE() << "accepted " << bad;
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_THAT(
      FromJson(R"({"statistic": "count", "privacy": {"rh": 0.1}})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("privacy.rh")));
}

TEST(SpecTest, PlainLanguageSummary) {
  KRING_ASSERT_OK_AND_ASSIGN(Query q, FromJson(R"({"statistic": "mean",
          "measures": ["belong_perception"],
          "groupBy": ["municipality", "track"],
          "population": {"waves": ["2025-26", "2024-25"], "sectors": ["vo"],
                         "municipalities": ["GM0363"]}})"));
  EXPECT_EQ(q.Summary(),
            "Mean (with SD and 95% CI) of Perceptions of belonging at school "
            "(PISA) [belong_perception] per municipality and track, waves "
            "2024-25 and 2025-26, pupils in vo, schools in GM0363; privacy "
            "cost ρ = 0.1 per pupil, charged to each school's budget for "
            "every wave it touches");
  KRING_ASSERT_OK_AND_ASSIGN(
      Query t, FromJson(R"({"statistic": "trend", "trendOf": "proportion",
          "cutoff": 2.5, "direction": "below",
          "measures": ["belong_perception"],
          "population": {"waves": ["2024-25", "2025-26"]}})"));
  EXPECT_THAT(t.Summary(), HasSubstr("Share of pupils below 2.5"));
  EXPECT_THAT(t.Summary(), HasSubstr("over the waves"));
}

TEST(SpecTest, ScaleScoresAreExactIntegers) {
  KRING_ASSERT_OK_AND_ASSIGN(Query q, FromJson(R"({"statistic": "mean",
                            "measures": ["belong_perception", "ST034Q01"]})"));
  const Measure& scale = q.measures()[0];
  EXPECT_EQ(scale.scale_factor, 60u);  // lcm(4, 5, 6): 4..6 answered items
  v1::PupilRecord r;
  // ST034Q01 is reverse-keyed: answer 1 counts as 4.
  for (uint32_t a : {1, 4, 4, 1, 4, 0}) r.add_responses(a);
  for (int i = 6; i < 17; ++i) r.add_responses(0);
  // Recoded: 4, 4, 4, ?, ?, missing — ST034Q04 and ST034Q05 are checked
  // against the instrument by ValueOf itself.
  std::optional<uint64_t> v = q.ValueOf(scale, r);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v % 5, 0u);  // a mean of 5 answers times 60 is a multiple of 12
  EXPECT_EQ(q.ValueOf(q.measures()[1], r), 4u);
  // Too few answers: missing.
  v1::PupilRecord sparse;
  for (uint32_t a : {1, 4, 4, 0, 0, 0}) sparse.add_responses(a);
  EXPECT_EQ(q.ValueOf(scale, sparse), std::nullopt);
  // Out-of-range codes are clamped to the declared range.
  v1::PupilRecord wild;
  wild.add_responses(9);
  EXPECT_EQ(q.ValueOf(q.measures()[1], wild), 1u);  // 9 -> 4, reversed -> 1
}

TEST(SpecTest, LayoutIsDerivedFromTheSpecAlone) {
  const char* json = R"({"statistic": "correlation", "groupBy": ["gender"],
      "measures": ["belong_perception", "belong_motivation", "ST034Q02"]})";
  KRING_ASSERT_OK_AND_ASSIGN(Query a, FromJson(json));
  KRING_ASSERT_OK_AND_ASSIGN(Query b, FromJson(json));
  Layout la(a), lb(b);
  EXPECT_EQ(la.size(), lb.size());
  EXPECT_EQ(la.cell_count(), 5u);  // four genders and the margin
  // records, schools, n, 3 sums, 6 products
  EXPECT_EQ(la.cell_width(), 12u);
  EXPECT_EQ(la.element_names(), lb.element_names());
  EXPECT_EQ(la.Describe(la.cell_width() * 4 + 2), "gender=* | n");
  for (size_t c = 0; c < la.cell_count(); ++c) {
    EXPECT_EQ(la.CellIndex(la.CellLevels(c)), c);
  }
  const std::vector<uint64_t> bounds = la.NodeBounds();
  EXPECT_EQ(bounds[Layout::kSchools], 1u);
  EXPECT_EQ(bounds[Layout::kRecords], Layout::kMaxRecordsPerNode);
}

}  // namespace
}  // namespace kring::query
