#include "query/ledger.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/disclosure.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "tests/testing/status_matchers.h"

namespace kring::query {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBelongingByGender[] =
    "count|belonging.agree|group-by:gender|filter:none";

const CellThresholds kThresholds =
    DisclosurePolicy::Default().ThresholdsFor(false);

CellStats S(uint64_t respondents, uint64_t schools) {
  return {.respondents = respondents, .schools = schools};
}

std::set<std::string> Schools(int first, int last) {
  std::set<std::string> out;
  for (int i = first; i <= last; ++i) out.insert("school-" + std::to_string(i));
  return out;
}

Release Make(std::string id, std::set<std::string> participants,
             std::map<std::string, CellStats> figures,
             std::string key = kBelongingByGender) {
  auto r = Release::Create(std::move(id), std::move(key),
                           std::move(participants), std::move(figures));
  EXPECT_THAT(r, IsOk());
  return *std::move(r);
}

TEST(ReleaseTest, CreateValidates) {
  using absl::StatusCode::kInvalidArgument;
  const std::map<std::string, CellStats> figures = {{"gender=f", S(40, 5)}};
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, Schools(1, 6), figures),
              IsOk());
  EXPECT_THAT(Release::Create("", kBelongingByGender, Schools(1, 6), figures),
              StatusIs(kInvalidArgument, HasSubstr("id")));
  EXPECT_THAT(Release::Create("q1", "", Schools(1, 6), figures),
              StatusIs(kInvalidArgument, HasSubstr("statistic key")));
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, {}, figures),
              StatusIs(kInvalidArgument, HasSubstr("participating school")));
  EXPECT_THAT(
      Release::Create("q1", kBelongingByGender, {"", "school-1"}, figures),
      StatusIs(kInvalidArgument, HasSubstr("school ids")));
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, Schools(1, 6),
                              {{"", S(40, 5)}}),
              StatusIs(kInvalidArgument, HasSubstr("figure keys")));
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, Schools(1, 6),
                              {{"gender=f", S(3, 4)}}),
              StatusIs(kInvalidArgument, HasSubstr("'gender=f'")));
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, Schools(1, 6),
                              {{"gender=f", S(3, 0)}}),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(Release::Create("q1", kBelongingByGender, Schools(1, 2),
                              {{"gender=f", S(30, 3)}}),
              StatusIs(kInvalidArgument, HasSubstr("participants")));
}

TEST(ReleaseLedgerTest, FirstReleaseIsAdmitted) {
  ReleaseLedger ledger;
  EXPECT_THAT(
      ledger.Admit(Make("q1", Schools(1, 6),
                        {{"gender=f", S(60, 6)}, {"gender=m", S(55, 6)}}),
                   kThresholds),
      IsOk());
  EXPECT_EQ(ledger.size(), 1u);
}

// The attack: the same query with and without one school. Each release
// passes the per-figure thresholds, but their difference is school 6 alone.
TEST(ReleaseLedgerTest, SameQueryWithoutOneSchoolIsRefused) {
  ReleaseLedger ledger;
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6),
                                {{"gender=f", S(60, 6)},
                                 {"gender=m", S(55, 6)},
                                 {"total", S(115, 6)}}),
                           kThresholds),
              IsOk());
  const Release without_6 = Make(
      "q2", Schools(1, 5),
      {{"gender=f", S(48, 5)}, {"gender=m", S(44, 5)}, {"total", S(92, 5)}});
  EXPECT_THAT(
      ledger.Admit(without_6, kThresholds),
      StatusIs(
          absl::StatusCode::kPermissionDenied,
          AllOf(HasSubstr("release 'q2' refused"),
                HasSubstr("participating schools differ by 1 school, "
                          "fewer than the minimum of 3"),
                HasSubstr("earlier release 'q1'"), HasSubstr("differencing"))));
  EXPECT_EQ(ledger.size(), 1u);  // nothing recorded

  // Adding a school instead is the same attack.
  EXPECT_THAT(ledger.Check(Make("q3", Schools(1, 7),
                                {{"gender=f", S(70, 7)},
                                 {"gender=m", S(66, 7)},
                                 {"total", S(136, 7)}}),
                           kThresholds),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // So is swapping one school for another (symmetric difference 2 < 3).
  std::set<std::string> swapped = Schools(1, 5);
  swapped.insert("school-9");
  EXPECT_THAT(
      ledger.Check(Make("q4", swapped, {{"gender=f", S(61, 6)}}), kThresholds),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("differ by 2 schools")));
}

TEST(ReleaseLedgerTest, DifferenceOfEnoughSchoolsIsAdmitted) {
  ReleaseLedger ledger;
  ASSERT_THAT(
      ledger.Admit(Make("q1", Schools(1, 6),
                        {{"gender=f", S(60, 6)}, {"gender=m", S(55, 6)}}),
                   kThresholds),
      IsOk());
  // Three more schools, every figure grows by at least 10 respondents and
  // 3 schools: the difference would itself pass the thresholds.
  EXPECT_THAT(
      ledger.Admit(Make("q2", Schools(1, 9),
                        {{"gender=f", S(90, 9)}, {"gender=m", S(70, 9)}}),
                   kThresholds),
      IsOk());
  EXPECT_EQ(ledger.size(), 2u);
}

TEST(ReleaseLedgerTest, FigureDifferingByThreeRespondentsIsRefused) {
  ReleaseLedger ledger;
  ASSERT_THAT(
      ledger.Admit(Make("q1", Schools(1, 6),
                        {{"gender=f", S(60, 6)}, {"gender=m", S(55, 6)}}),
                   kThresholds),
      IsOk());
  // Same schools, but three more girls answered since: their answers would
  // be the difference.
  const absl::Status refused =
      ledger.Admit(Make("q2", Schools(1, 6),
                        {{"gender=f", S(63, 6)}, {"gender=m", S(55, 6)}}),
                   kThresholds);
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("a figure differs by fewer than 10 "
                                       "respondents"),
                             // Neither the figure nor the difference leaks.
                             Not(HasSubstr("gender")), Not(HasSubstr(" 3 ")),
                             Not(HasSubstr("63")))));
  // Once the change is large enough it may be released.
  EXPECT_THAT(
      ledger.Admit(Make("q3", Schools(1, 6),
                        {{"gender=f", S(72, 6)}, {"gender=m", S(55, 6)}}),
                   kThresholds),
      IsOk());
}

TEST(ReleaseLedgerTest, SmallDifferenceHiddenBehindManySchoolsIsRefused) {
  ReleaseLedger ledger;
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6), {{"gender=x", S(40, 4)}}),
                           kThresholds),
              IsOk());
  // Four more schools, but only 4 more respondents in this figure.
  EXPECT_THAT(ledger.Check(Make("q2", Schools(1, 10), {{"gender=x", S(44, 6)}}),
                           kThresholds),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("fewer than 10 respondents")));
  // 12 more respondents, but all from one of the new schools.
  EXPECT_THAT(
      ledger.Check(Make("q3", Schools(1, 10), {{"gender=x", S(52, 5)}}),
                   kThresholds),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("contributing schools differ by fewer than 3")));
  // None of the new schools contributes to the figure: nothing new.
  EXPECT_THAT(ledger.Check(Make("q4", Schools(1, 10), {{"gender=x", S(40, 4)}}),
                           kThresholds),
              IsOk());
}

TEST(ReleaseLedgerTest, IdenticalRepeatIsAdmitted) {
  ReleaseLedger ledger;
  const std::map<std::string, CellStats> figures = {{"gender=f", S(60, 6)},
                                                    {"gender=m", S(55, 6)}};
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6), figures), kThresholds),
              IsOk());
  EXPECT_THAT(ledger.Admit(Make("q2", Schools(1, 6), figures), kThresholds),
              IsOk());
}

TEST(ReleaseLedgerTest, OtherStatisticsAreIndependent) {
  ReleaseLedger ledger;
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6), {{"gender=f", S(60, 6)}}),
                           kThresholds),
              IsOk());
  EXPECT_THAT(ledger.Admit(Make("q2", Schools(1, 5), {{"gender=f", S(48, 5)}},
                                "count|belonging.agree|group-by:year"),
                           kThresholds),
              IsOk());
}

TEST(ReleaseLedgerTest, FiguresShownInOnlyOneReleaseAreNotCompared) {
  ReleaseLedger ledger;
  // Figure "gender=x" was suppressed in q1, so it is not in the release.
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6), {{"gender=f", S(60, 6)}}),
                           kThresholds),
              IsOk());
  EXPECT_THAT(
      ledger.Admit(Make("q2", Schools(1, 9),
                        {{"gender=f", S(75, 9)}, {"gender=x", S(12, 3)}}),
                   kThresholds),
      IsOk());
}

TEST(ReleaseLedgerTest, EveryEarlierReleaseIsCompared) {
  ReleaseLedger ledger;
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 6), {{"all", S(100, 6)}}),
                           kThresholds),
              IsOk());
  ASSERT_THAT(ledger.Admit(Make("q2", Schools(1, 10), {{"all", S(150, 10)}}),
                           kThresholds),
              IsOk());
  // Four schools away from q2, but only one from q1.
  EXPECT_THAT(ledger.Check(Make("q3", Schools(1, 7), {{"all", S(120, 7)}}),
                           kThresholds),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("earlier release 'q1'")));
}

TEST(ReleaseLedgerTest, CheckDoesNotRecord) {
  ReleaseLedger ledger;
  EXPECT_THAT(ledger.Check(Make("q1", Schools(1, 6), {{"all", S(100, 6)}}),
                           kThresholds),
              IsOk());
  EXPECT_EQ(ledger.size(), 0u);
  // Without q1 on record, a release one school away is fine.
  EXPECT_THAT(
      ledger.Admit(Make("q2", Schools(1, 5), {{"all", S(90, 5)}}), kThresholds),
      IsOk());
}

TEST(ReleaseLedgerTest, UsesTheGivenThresholds) {
  ReleaseLedger ledger;
  ASSERT_THAT(ledger.Admit(Make("q1", Schools(1, 10), {{"all", S(200, 10)}}),
                           kThresholds),
              IsOk());
  // Differs by 4 schools and 40 respondents: fine normally, not under the
  // special-category thresholds (20 respondents, 5 schools).
  const Release r = Make("q2", Schools(1, 14), {{"all", S(240, 14)}});
  EXPECT_THAT(ledger.Check(r, kThresholds), IsOk());
  EXPECT_THAT(
      ledger.Check(r, DisclosurePolicy::Default().ThresholdsFor(true)),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("differ by 4 schools, fewer than the minimum of 5")));
}

Query Spec(const std::string& json) {
  auto spec = ParseQuerySpecJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto q = Query::Create(*spec, survey::Instrument::BelongingV1());
  EXPECT_TRUE(q.ok()) << q.status();
  return *std::move(q);
}

// The same query over the same schools under the same calibration has one
// key, whatever its purpose or disclosure request; anything that changes
// the noisy sums or their noise gives another.
TEST(RepeatAnswersTest, TheKeyNamesTheQueryTheSchoolsAndTheCalibration) {
  const std::set<std::string> schools = {"a", "b", "c"};
  const std::string base = R"({"statistic": "mean",
      "measures": ["belong_perception"], "groupBy": ["gender"],
      "purpose": "one")";
  const std::string key = RepeatAnswers::Key(Spec(base + "}"), 3, 5, schools);
  EXPECT_EQ(RepeatAnswers::Key(Spec(R"({"statistic": "mean", "measures":
                     ["belong_perception"], "groupBy": ["gender"],
                     "purpose": "another", "disclosure":
                     {"min_respondents": 15}, "privacy": {"rho": 0.1}})"),
                               3, 5, schools),
            key);
  EXPECT_NE(RepeatAnswers::Key(Spec(base + R"(, "privacy": {"rho": 0.09}})"), 3,
                               5, schools),
            key);
  EXPECT_NE(RepeatAnswers::Key(
                Spec(base + R"(, "population": {"waves": ["2025-26"]}})"), 3, 5,
                schools),
            key);
  EXPECT_NE(RepeatAnswers::Key(Spec(base + "}"), 3, 6, schools), key);
  EXPECT_NE(RepeatAnswers::Key(Spec(base + "}"), 3, 5, {"a", "b"}), key);
  EXPECT_NE(RepeatAnswers::Key(Spec(base + "}"), 3, 5, {"a", "b", "d"}), key);
}

TEST(RepeatAnswersTest, TheFirstAnswerStays) {
  RepeatAnswers answers;
  EXPECT_EQ(answers.Find("k"), nullptr);
  answers.Record("k", {"q-1", {1, -2, 3}});
  answers.Record("k", {"q-2", {7, 7, 7}});
  const RepeatAnswers::Answer* a = answers.Find("k");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->release_id, "q-1");
  EXPECT_EQ(a->noisy, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(answers.Find("other"), nullptr);
  EXPECT_EQ(answers.size(), 1u);
}

}  // namespace
}  // namespace kring::query
