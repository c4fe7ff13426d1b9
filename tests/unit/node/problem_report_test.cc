#include "node/problem_report.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kring::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kGender[] =
    "gender: \"onbekend\" is not recognised; accepted values: jongen, meisje";

TEST(ProblemReportTest, ThreeHundredRowsWithOneProblemAreOneLine) {
  std::vector<ImportProblem> problems;
  for (size_t line = 2; line < 302; ++line) {
    problems.push_back({line, "gender", kGender});
  }
  const std::vector<std::string> lines = ProblemLines(problems, 19);
  EXPECT_THAT(lines,
              ElementsAre("column \"gender\": gender: \"onbekend\" is not "
                          "recognised: 300 rows (2\xE2\x80\x93"
                          "301); accepted values: jongen, meisje"));
}

TEST(ProblemReportTest, ManyKindsFitTheScreen) {
  std::vector<ImportProblem> problems;
  for (size_t i = 0; i < 300; ++i) {
    // 300 different columns: 300 kinds of problem.
    problems.push_back({i + 2, "item" + std::to_string(i), "answer missing"});
  }
  const std::vector<std::string> lines = ProblemLines(problems, 19);
  ASSERT_THAT(lines, SizeIs(19));
  EXPECT_EQ(lines[0], "line 2, column \"item0\": answer missing");
  EXPECT_THAT(lines[18], StartsWith("\xE2\x80\xA6 and 282 more kinds of "
                                    "problem in 282 places"));
}

TEST(ProblemReportTest, DifferentValuesOfOneKindAreOneGroup) {
  std::vector<ImportProblem> problems = {
      {4, "age", "age band: \"x1\" is not recognised; accepted: 12-13"},
      {5, "age", "age band: \"x2\" is not recognised; accepted: 12-13"},
      {6, "age", "age band: \"x1\" is not recognised; accepted: 12-13"},
      {9, "age", "age band: \"x3\" is not recognised; accepted: 12-13"},
      {11, "age", "age band: \"x4\" is not recognised; accepted: 12-13"},
      {12, "pupil_number",
       "duplicate pupil in wave 2025-26: the same pupil number is on line 3"},
      {13, "pupil_number",
       "duplicate pupil in wave 2025-26: the same pupil number is on line 7"},
      {14, "", "record: grade 7 is outside 1..6 for sector vo"},
  };
  const std::vector<ProblemGroup> groups = GroupProblems(problems);
  ASSERT_THAT(groups, SizeIs(3));
  EXPECT_THAT(groups[0].lines, ElementsAre(4, 5, 6, 9, 11));
  EXPECT_THAT(groups[0].values,
              ElementsAre("\"x1\"", "\"x2\"", "\"x3\"", "\"x4\""));
  EXPECT_THAT(
      ProblemLines(problems, 19),
      ElementsAre("column \"age\": age band: \"x1\", \"x2\", \"x3\" and 1 "
                  "more is not recognised: 5 rows (4\xE2\x80\x93"
                  "6, 9, 11); accepted: 12-13",
                  "column \"pupil_number\": duplicate pupil in wave 2025-26: "
                  "the same pupil number is on line 3, 7: 2 rows "
                  "(12\xE2\x80\x93"
                  "13)",
                  "line 14: record: grade 7 is outside 1..6 for sector vo"));
  EXPECT_EQ(ProblemLines(problems, 19, "row")[2],
            "row 14: record: grade 7 is outside 1..6 for sector vo");
}

TEST(ProblemReportTest, LineRanges) {
  EXPECT_EQ(LineRanges({2, 3, 4, 7, 9, 10}),
            "2\xE2\x80\x93"
            "4, 7, 9\xE2\x80\x93"
            "10");
  EXPECT_EQ(LineRanges({1, 3, 5, 7}, 2), "1, 3, \xE2\x80\xA6");
}

}  // namespace
}  // namespace kring::node
