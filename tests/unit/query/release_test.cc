// Disclosure control on decoded results: what a requester can see.

#include "query/release.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/layout.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/query/fixture.h"

namespace kring::query {
namespace {

using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

struct Pupil {
  std::string school;
  v1::Gender gender;
  uint32_t answer;  // to every item
};

v1::PupilRecord Record(v1::Gender gender, uint32_t answer) {
  v1::PupilRecord r;
  r.set_wave("2025-26");
  r.set_survey_month(3);
  r.set_sector(v1::SECTOR_VO);
  r.set_track(v1::TRACK_HAVO);
  r.set_grade(2);
  r.set_gender(gender);
  r.set_age_band(v1::AGE_BAND_12_13);
  r.set_migration_background(v1::MIGRATION_BACKGROUND_NONE);
  for (int i = 0; i < 17; ++i) r.add_responses(answer);
  return r;
}

// `per_school[s][g]` pupils of gender g+1 at school s.
std::vector<testing::School> Schools(
    const std::vector<std::vector<int>>& per_school) {
  std::vector<testing::School> out;
  for (size_t s = 0; s < per_school.size(); ++s) {
    testing::School school{"S" + std::to_string(s), "GM0363", {}};
    for (size_t g = 0; g < per_school[s].size(); ++g) {
      for (int i = 0; i < per_school[s][g]; ++i) {
        school.records.push_back(
            Record(static_cast<v1::Gender>(g + 1), 1 + (i + s) % 4));
      }
    }
    out.push_back(std::move(school));
  }
  return out;
}

struct Evaluated {
  std::unique_ptr<Query> query;
  std::unique_ptr<Layout> layout;
  Result result;
};

Evaluated Evaluate(std::string_view json,
                   const std::vector<testing::School>& ss) {
  Evaluated run;
  auto spec = ParseQuerySpecJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto q = Query::Create(*spec, survey::Instrument::BelongingV1());
  EXPECT_TRUE(q.ok()) << q.status();
  run.query = std::make_unique<Query>(*std::move(q));
  run.layout = std::make_unique<Layout>(*run.query);
  std::vector<uint64_t> sum(run.layout->size(), 0);
  for (const auto& s : ss) {
    auto v = Contribution(*run.layout, s.records, s.municipality);
    EXPECT_TRUE(v.ok());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*v)[i];
  }
  auto r = Decode(*run.layout, sum);
  EXPECT_TRUE(r.ok()) << r.status();
  run.result = *std::move(r);
  return run;
}

const ReleasedCell& Find(const ReleasedResult& r, const std::string& name) {
  for (const auto& c : r.cells) {
    if (c.name == name) return c;
  }
  static ReleasedCell none;
  ADD_FAILURE() << "no cell " << name;
  return none;
}

// No suppressed cell can be recomputed from its row or column: every line
// whose margin is released has 0 or at least 2 suppressed cells; and no
// released cell is below the thresholds.
void ExpectNoCellRecoverable(const Evaluated& run,
                             const ReleasedResult& released) {
  const Query& q = *run.query;
  const size_t groups = q.groups().size();
  for (size_t i = 0; i < released.cells.size(); ++i) {
    const ReleasedCell& c = released.cells[i];
    const CellResult& truth = run.result.cells[i];
    if (c.shown_respondents) {
      EXPECT_GE(truth.respondents, released.thresholds.min_respondents)
          << c.name;
      EXPECT_GE(std::min(truth.schools, truth.respondents),
                released.thresholds.min_schools)
          << c.name;
    }
  }
  for (size_t g = 0; g < groups; ++g) {
    // Lines along variable g: fix the other variable (or the margin).
    const size_t other = groups == 2 ? 1 - g : g;
    const size_t other_levels =
        groups == 2 ? q.groups()[other].levels.size() + 1 : 1;
    for (size_t o = 0; o < other_levels; ++o) {
      std::vector<int> levels(groups, kMargin);
      if (groups == 2) {
        levels[other] = o == other_levels - 1 ? kMargin : static_cast<int>(o);
      }
      if (!released.cells[run.layout->CellIndex(levels)].shown_respondents) {
        continue;  // margin suppressed: nothing to subtract from
      }
      size_t suppressed = 0;
      for (size_t l = 0; l < q.groups()[g].levels.size(); ++l) {
        levels[g] = static_cast<int>(l);
        if (!released.cells[run.layout->CellIndex(levels)].shown_respondents) {
          ++suppressed;
        }
      }
      EXPECT_NE(suppressed, 1u) << "a suppressed cell equals its released "
                                   "margin minus the released cells";
    }
  }
}

TEST(ReleaseTest, MarginCannotGiveAwayASuppressedCell) {
  // jongen 40, meisje 38, anders 4, wil niet zeggen 12 over 6 schools.
  auto schools = Schools({{7, 7, 1, 2},
                          {7, 6, 1, 2},
                          {7, 6, 1, 2},
                          {7, 7, 1, 2},
                          {6, 6, 0, 2},
                          {6, 6, 0, 2}});
  Evaluated run =
      Evaluate(R"({"statistic": "count", "groupBy": ["gender"]})", schools);
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult r,
      ApplyDisclosure(*run.layout, run.result, DisclosurePolicy::Default()));
  EXPECT_EQ(Find(r, "gender=anders").status, Suppression::kTooFewRespondents);
  EXPECT_THAT(Find(r, "gender=anders").reason, HasSubstr("10 respondents"));
  // Primary suppression alone would leave anders = 94 - 40 - 38 - 12.
  EXPECT_EQ(Find(r, "gender=wil niet zeggen").status, Suppression::kSecondary);
  EXPECT_TRUE(Find(r, "gender=*").shown_respondents.has_value());
  EXPECT_EQ(*Find(r, "gender=*").shown_respondents, 95u);  // 94 rounded
  EXPECT_EQ(*Find(r, "gender=jongen").shown_respondents, 40u);
  ExpectNoCellRecoverable(run, r);
  // Nothing about the suppressed cells is anywhere in the outputs.
  for (const ReleasedCell& c : r.cells) {
    if (!c.shown_respondents) {
      EXPECT_TRUE(c.figures.empty()) << c.name;
    }
  }
  EXPECT_THAT(r.ToCsv(), HasSubstr("too_few_respondents"));
}

TEST(ReleaseTest, OneSchoolOrNineRespondentsAreSuppressed) {
  // meisje: 30 pupils, all at one school; anders: 9 over 3 schools.
  auto schools = Schools({{10, 30, 3}, {10, 0, 3}, {10, 0, 3}, {10, 0, 0}});
  Evaluated run = Evaluate(R"({"statistic": "mean", "groupBy": ["gender"],
                         "measures": ["belong_perception"]})",
                           schools);
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult r,
      ApplyDisclosure(*run.layout, run.result, DisclosurePolicy::Default()));
  EXPECT_EQ(Find(r, "gender=meisje").status, Suppression::kTooFewSchools);
  EXPECT_THAT(Find(r, "gender=meisje").reason,
              HasSubstr("3 contributing schools"));
  EXPECT_EQ(Find(r, "gender=anders").status, Suppression::kTooFewRespondents);
  EXPECT_TRUE(Find(r, "gender=meisje").figures.empty());  // no mean either
  EXPECT_TRUE(Find(r, "gender=jongen").shown_respondents.has_value());
  ExpectNoCellRecoverable(run, r);
  const std::string text = r.ToText();
  EXPECT_THAT(text,
              HasSubstr("suppressed (fewer than 3 contributing schools)"));
  EXPECT_THAT(r.ToJson().dump(), HasSubstr("\"suppressed\""));
}

TEST(ReleaseTest, SpecialCategoryGroupByUsesStricterThresholds) {
  auto schools = Schools({{5, 5}, {5, 5}, {5, 5}, {5, 0}});  // 35 pupils
  Evaluated run =
      Evaluate(R"({"statistic": "count", "groupBy": ["migration_background"]})",
               schools);
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult r,
      ApplyDisclosure(*run.layout, run.result, DisclosurePolicy::Default()));
  EXPECT_EQ(r.thresholds.min_respondents, 20u);
  EXPECT_EQ(r.thresholds.min_schools, 5u);
  // 35 pupils at 4 schools: fewer than 5 schools.
  EXPECT_EQ(Find(r, "migration_background=geen").status,
            Suppression::kTooFewSchools);
}

TEST(ReleaseTest, RequestsCanOnlyBeStricter) {
  auto schools = Schools({{20, 20}, {20, 20}, {20, 20}});
  Evaluated weak = Evaluate(R"({"statistic": "count", "groupBy": ["gender"],
                          "disclosure": {"minRespondents": 5}})",
                            schools);
  EXPECT_THAT(
      ApplyDisclosure(*weak.layout, weak.result, DisclosurePolicy::Default()),
      StatusIs(absl::StatusCode::kInvalidArgument));
  Evaluated strict = Evaluate(R"({"statistic": "count", "groupBy": ["gender"],
                            "disclosure": {"minRespondents": 61}})",
                              schools);
  KRING_ASSERT_OK_AND_ASSIGN(ReleasedResult r,
                             ApplyDisclosure(*strict.layout, strict.result,
                                             DisclosurePolicy::Default()));
  EXPECT_EQ(Find(r, "gender=jongen").status, Suppression::kTooFewRespondents);
}

TEST(ReleaseTest, CrosstabOfTheFixtureLeaksNoSmallCell) {
  const auto schools = testing::LoadSchools();
  Evaluated run = Evaluate(R"({"statistic": "crosstab",
                         "groupBy": ["track", "gender"]})",
                           schools);
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult r,
      ApplyDisclosure(*run.layout, run.result, DisclosurePolicy::Default()));
  size_t suppressed = 0;
  for (const auto& c : r.cells) suppressed += !c.shown_respondents;
  EXPECT_GT(suppressed, 0u);
  ExpectNoCellRecoverable(run, r);
  // The chi-square test could pin suppressed cells down: withheld.
  EXPECT_TRUE(r.table.empty());
  EXPECT_THAT(r.table_note, HasSubstr("withheld"));
  // Released counts are multiples of 5.
  for (const auto& c : r.cells) {
    for (const Figure& f : c.figures) {
      if (f.stat == "count") {
        EXPECT_EQ(static_cast<uint64_t>(f.value) % 5, 0u) << c.name;
      }
    }
  }
}

TEST(ReleaseTest, LedgerRefusesADifferencingAttack) {
  auto all = Schools({{20, 20}, {20, 20}, {20, 20}, {20, 20}});
  auto without_one = all;
  without_one.pop_back();
  const char* json = R"({"statistic": "count", "groupBy": ["gender"]})";
  Evaluated a = Evaluate(json, all);
  Evaluated b = Evaluate(json, without_one);
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult ra,
      ApplyDisclosure(*a.layout, a.result, DisclosurePolicy::Default()));
  KRING_ASSERT_OK_AND_ASSIGN(
      ReleasedResult rb,
      ApplyDisclosure(*b.layout, b.result, DisclosurePolicy::Default()));
  KRING_ASSERT_OK_AND_ASSIGN(
      Release first,
      LedgerEntry("q1", *a.layout, a.result, ra, {"S0", "S1", "S2", "S3"}));
  KRING_ASSERT_OK_AND_ASSIGN(
      Release second,
      LedgerEntry("q2", *b.layout, b.result, rb, {"S0", "S1", "S2"}));
  EXPECT_EQ(first.statistic_key(), second.statistic_key());
  ReleaseLedger ledger;
  const CellThresholds t = DisclosurePolicy::Default().normal();
  KRING_ASSERT_OK(ledger.Admit(first, t));
  EXPECT_THAT(ledger.Admit(second, t),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ReleaseTest, UnprotectedShowsEverythingForTheSchoolItself) {
  auto schools = Schools({{3, 2}});
  Evaluated run =
      Evaluate(R"({"statistic": "count", "groupBy": ["gender"]})", schools);
  ReleasedResult r = Unprotected(*run.layout, run.result);
  EXPECT_EQ(*Find(r, "gender=meisje").shown_respondents, 2u);
  EXPECT_THAT(r.ToText(), HasSubstr("gender meisje (2 respondents)"));
}

}  // namespace
}  // namespace kring::query

namespace kring::query {
namespace {

TEST(PolicyFileTest, DefaultsStricterValuesAndRefusals) {
  KRING_ASSERT_OK_AND_ASSIGN(DisclosurePolicy empty, ParsePolicyJson("{}"));
  EXPECT_EQ(empty.normal().min_respondents, 10u);
  EXPECT_EQ(empty.special_category().min_schools, 5u);
  EXPECT_EQ(empty.rounding_base(), 5u);
  KRING_ASSERT_OK_AND_ASSIGN(
      DisclosurePolicy strict,
      ParsePolicyJson(R"({"min_respondents": 25, "min_schools": 4,
                          "rounding_base": 10,
                          "special_category": {"min_schools": 6}})"));
  EXPECT_EQ(strict.normal().min_respondents, 25u);
  EXPECT_EQ(strict.special_category().min_respondents, 25u);  // lifted
  EXPECT_EQ(strict.special_category().min_schools, 6u);
  EXPECT_EQ(strict.rounding_base(), 10u);
  EXPECT_THAT(ParsePolicyJson(R"({"min_respondents": 3})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("can only be stricter")));
  EXPECT_THAT(
      ParsePolicyJson(R"({"special_category": {"min_respondents": 12}})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weaker")));
  EXPECT_THAT(
      ParsePolicyJson(R"({"rounding_base": 7})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multiple of 5")));
  EXPECT_THAT(ParsePolicyJson(R"({"min_respondent": 12})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("did you mean `min_respondents`")));
  EXPECT_THAT(ParsePolicyJson(R"({"min_schools": -1})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePolicyJson("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::query
