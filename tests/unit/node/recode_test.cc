// Recoding in mapping files, the formats schools export that need no
// mapping (survey month 2025-11, strain nooit/soms/vaak, LimeSurvey M/F),
// and the import summary of how answers were read (issue 13, part B).

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "node/import.h"
#include "node/import_report.h"
#include "survey/record.h"
#include "tests/testing/status_matchers.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using ::kring::testing::StatusIs;
using survey::Instrument;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const Instrument& Ins() { return Instrument::BelongingV1(); }

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(KRING_SOURCE_DIR) + "/tests/fixtures/import/" +
                   name);
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

ImportOptions WithMapping(std::string_view yaml) {
  ImportOptions o;
  auto m = ColumnMapping::Parse(yaml);
  EXPECT_TRUE(m.ok()) << m.status();
  if (m.ok()) o.mapping = *std::move(m);
  return o;
}

std::vector<uint32_t> Responses(const ImportRow& row) {
  return {row.record.responses().begin(), row.record.responses().end()};
}

const char kHeader[] =
    "pupil_number,wave,survey_month,sector,track,grade,gender,age,"
    "ST034Q01,ST034Q02,ST034Q03,ST034Q04,ST034Q05,ST034Q06,KB_COMP01,"
    "KB_COMP02,KB_COMP03,KB_COMP04,KB_OPP01,KB_OPP02,KB_OPP03,KB_OPP04,"
    "KB_MOT01,KB_MOT02,KB_MOT03\n";

std::string Row(
    std::string_view pupil, std::string_view month = "3",
    std::string_view gender = "meisje",
    std::string_view answers = "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1") {
  return StrCat(pupil, ",2025-26,", month, ",vo,havo,2,", gender, ",13,",
                answers, "\n");
}

TEST(RecodeTest, PisaCodedExportImportsWithAFewLinesOfMapping) {
  const std::string csv = Fixture("pisa_coded.csv");
  // Without the mapping the PISA codes are read as kring codes: mirrored.
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport plain,
                             ParseExport(csv, Ins(), ImportOptions{}));
  ASSERT_THAT(plain.problems, IsEmpty());
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(csv, Ins(), WithMapping(Fixture("pisa_coded.yaml"))));
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rows, SizeIs(4));
  // Pupil 1001 answered ST034 4,1,1,4,2,3 in PISA coding: strongly
  // disagree (outsider), strongly agree (friends), ...
  EXPECT_THAT(Responses(parsed.rows[0]),
              ElementsAre(1, 4, 4, 1, 3, 2, 3, 3, 2, 2, 4, 3, 3, 2, 4, 3, 1));
  EXPECT_THAT(Responses(plain.rows[0]),
              ElementsAre(4, 1, 1, 4, 2, 3, 3, 3, 2, 2, 4, 3, 3, 2, 4, 3, 1));
  // A missing answer stays missing.
  EXPECT_EQ(parsed.rows[3].record.responses(0), 0u);
  // survey_month written 2025-11.
  EXPECT_EQ(parsed.rows[0].record.survey_month(), 11u);
  // The scale score is the one kring coding gives: higher = more belonging.
  const auto* scale = Ins().FindScale("belong_perception");
  auto r = Responses(parsed.rows[0]);
  EXPECT_DOUBLE_EQ(*Ins().ScaleScore(*scale, r), (4 + 4 + 4 + 4 + 3 + 3) / 6.0);
  EXPECT_TRUE(parsed.answers[0].reversed);
  EXPECT_FALSE(parsed.answers[6].reversed);
}

TEST(RecodeTest, ReverseLeavesLabelsAsWritten) {
  const std::string csv =
      StrCat(kHeader, Row("1", "3", "meisje",
                          "strongly agree,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1"));
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(csv, Ins(),
                  WithMapping("recode:\n  - items: [ST034Q01, ST034Q02]\n"
                              "    reverse: true\n")));
  ASSERT_THAT(parsed.problems, IsEmpty());
  EXPECT_EQ(parsed.rows[0].record.responses(0), 4u);  // label: as written
  EXPECT_EQ(parsed.rows[0].record.responses(1), 3u);  // 2 reversed
}

TEST(RecodeTest, QualtricsNumericValuesThroughFieldValueMaps) {
  const std::string csv = Fixture("qualtrics_numeric.csv");
  // Without value maps the numeric tracks and genders are refused.
  auto bare = ColumnMapping::Parse(
      "columns:\n  Q_track: track\n  Q_grade: grade\n  Q_gender: gender\n"
      "  Q_age: age\n");
  ASSERT_TRUE(bare.ok());
  ImportOptions bare_options;
  bare_options.mapping = *bare;
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport refused,
                             ParseExport(csv, Ins(), bare_options));
  EXPECT_THAT(refused.problems, SizeIs(6));

  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(csv, Ins(), WithMapping(Fixture("qualtrics_numeric.yaml"))));
  EXPECT_EQ(parsed.format, ExportFormat::kQualtrics);
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rows, SizeIs(3));
  EXPECT_EQ(parsed.rows[0].record.track(), v1::TRACK_HAVO);
  EXPECT_EQ(parsed.rows[0].record.gender(), v1::GENDER_MEISJE);
  EXPECT_EQ(parsed.rows[1].record.track(), v1::TRACK_VMBO_GT);
  EXPECT_EQ(parsed.rows[1].record.gender(), v1::GENDER_JONGEN);
  EXPECT_EQ(parsed.rows[2].record.track(), v1::TRACK_VWO);
  EXPECT_EQ(parsed.rows[2].record.gender(), v1::GENDER_ANDERS);
}

TEST(RecodeTest, ItemValueMaps) {
  // A 0-3 coding: 0 = strongly disagree ... 3 = strongly agree.
  const std::string csv = StrCat(
      kHeader, Row("1", "3", "meisje", "0,1,2,3,1,2,3,4,1,2,3,4,1,2,3,4,1"));
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(csv, Ins(),
                  WithMapping("recode:\n  - items: [ST034Q01, ST034Q02, "
                              "ST034Q03, ST034Q04]\n    values: {0: 1, 1: 2, "
                              "2: 3, 3: \"strongly agree\"}\n")));
  ASSERT_THAT(parsed.problems, IsEmpty());
  EXPECT_THAT(Responses(parsed.rows[0]),
              ElementsAre(1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1));
  EXPECT_TRUE(parsed.answers[0].value_mapped);
}

TEST(RecodeTest, MappingErrorsSayWhatAndHow) {
  EXPECT_THAT(ColumnMapping::Parse("recode:\n  - items: [ST034Q01]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("`reverse: true` and `values:`")));
  EXPECT_THAT(ColumnMapping::Parse("recode:\n  - fields: [gender]\n"
                                   "    reverse: true\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("`reverse` applies to items")));
  EXPECT_THAT(ColumnMapping::Parse("recode:\n  - fields: [geslacht]\n"
                                   "    values: {1: jongen}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown field \"geslacht\"")));
  EXPECT_THAT(
      ColumnMapping::Parse("recode:\n  - items: [ST034Q01]\n"
                           "    reverse: true\n"
                           "  - items: [ST034Q01]\n"
                           "    reverse: true\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("recoded twice")));
  const std::string csv = StrCat(kHeader, Row("1"));
  EXPECT_THAT(ParseExport(csv, Ins(),
                          WithMapping("recode:\n  - items: [ST034Q09]\n"
                                      "    reverse: true\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"ST034Q09\" is not an item")));
  EXPECT_THAT(ParseExport(csv, Ins(),
                          WithMapping("recode:\n  - items: [ST034Q01]\n"
                                      "    values: {5: 7}\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a code 1..4")));
  EXPECT_THAT(ParseExport(csv, Ins(),
                          WithMapping("recode:\n  - fields: [gender]\n"
                                      "    values: {1: jongetje}\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("gender value \"1\" maps to \"jongetje\"")));
}

TEST(RecodeTest, FinancialStrainAsFrequencies) {
  for (const auto& [text, want] :
       std::vector<std::pair<std::string, v1::FinancialStrain>>{
           {"nooit", v1::FINANCIAL_STRAIN_NONE},
           {"Soms", v1::FINANCIAL_STRAIN_SOME},
           {"vaak", v1::FINANCIAL_STRAIN_SEVERE},
           {"never", v1::FINANCIAL_STRAIN_NONE},
           {"sometimes", v1::FINANCIAL_STRAIN_SOME},
           {"often", v1::FINANCIAL_STRAIN_SEVERE}}) {
    auto v = survey::ParseFinancialStrain(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(*v, want) << text;
  }
}

TEST(RecodeTest, SurveyMonthAsYearAndMonth) {
  EXPECT_EQ(*survey::ParseSurveyMonth("2025-11"), 11u);
  EXPECT_EQ(*survey::ParseSurveyMonth("2026-03"), 3u);
  EXPECT_FALSE(survey::ParseSurveyMonth("2025-13").ok());
}

TEST(RecodeTest, LimeSurveyGenderCodesMF) {
  auto lime = [](std::string_view g1, std::string_view g2) {
    return StrCat(
        "id,submitdate,lastpage,pupil_number,wave,survey_month,sector,track,"
        "grade,gender,age,",
        std::string_view(kHeader).substr(std::string_view(kHeader).find("ST")),
        "1,2026-03-02 10:00:00,3,1,2025-26,3,vo,havo,2,", g1,
        ",13,A1,A2,A3,A4,A1,A2,A3,A4,A1,A2,A3,A4,A1,A2,A3,A4,A1\n"
        "2,2026-03-02 10:01:00,3,2,2025-26,3,vo,havo,2,",
        g2, ",13,A1,A2,A3,A4,A1,A2,A3,A4,A1,A2,A3,A4,A1,A2,A3,A4,A1\n");
  };
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed,
                             ParseExport(lime("M", "F"), Ins(), {}));
  EXPECT_EQ(parsed.format, ExportFormat::kLimeSurvey);
  ASSERT_THAT(parsed.problems, IsEmpty());
  EXPECT_EQ(parsed.rows[0].record.gender(), v1::GENDER_JONGEN);
  EXPECT_EQ(parsed.rows[1].record.gender(), v1::GENDER_MEISJE);
  // With Dutch codes in the column, M may mean meisje: still refused.
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport dutch,
                             ParseExport(lime("M", "J"), Ins(), {}));
  ASSERT_THAT(dutch.problems, SizeIs(1));
  EXPECT_THAT(dutch.problems[0].reason, HasSubstr("ambiguous"));
  // Outside LimeSurvey, M stays ambiguous.
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport kring,
      ParseExport(StrCat(kHeader, Row("1", "3", "M"), Row("2", "3", "F")),
                  Ins(), {}));
  EXPECT_THAT(kring.problems, SizeIs(1));
}

TEST(RecodeTest, SummaryStatesTheCodingAndTheAnswersPerItem) {
  const std::string csv = Fixture("pisa_coded.csv");
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport plain,
                             ParseExport(csv, Ins(), ImportOptions{}));
  const std::string text =
      absl::StrJoin(AnswerReport(plain, Ins(), false), "\n");
  EXPECT_THAT(text, HasSubstr("read in the coding of kring-belonging-v1: 1 = "
                              "helemaal niet mee eens (strongly disagree)"));
  EXPECT_THAT(text, HasSubstr("PISA: 1 = strongly agree"));
  // ST034Q06 "lonely": PISA codes 3,4,1,4 read as kring codes -> 25% 1,
  // 25% 3, 50% 4 (mostly "strongly agree" with feeling lonely).
  EXPECT_THAT(text, HasSubstr("ST034Q06   I feel lonely at school"));
  EXPECT_THAT(text, HasSubstr("1: 25% 2:  0% 3: 25% 4: 50%  missing: 0"));
  // ST034Q01 has one missing answer.
  EXPECT_THAT(text, HasSubstr("missing: 1"));

  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport recoded,
      ParseExport(csv, Ins(), WithMapping(Fixture("pisa_coded.yaml"))));
  const std::string after =
      absl::StrJoin(AnswerReport(recoded, Ins(), false), "\n");
  EXPECT_THAT(after, HasSubstr("Reversed by the mapping file: ST034Q01, "
                               "ST034Q02, ST034Q03, ST034Q04, ST034Q05, "
                               "ST034Q06"));
  EXPECT_THAT(after, HasSubstr("1: 50% 2: 25% 3:  0% 4: 25%  missing: 0  "
                               "(reversed)"));
  const nlohmann::json j = AnswerReportJson(recoded, Ins());
  EXPECT_EQ(j["items"][5]["counts"]["strongly disagree"], 2);
  EXPECT_EQ(j["items"][5]["reversed"], true);

  // Labels only: no coding was assumed, no distribution unless asked.
  const std::string labelled = StrCat(
      kHeader,
      Row("1", "3", "meisje",
          "agree,agree,agree,agree,agree,agree,agree,agree,agree,agree,agree,"
          "agree,agree,agree,agree,agree,agree"));
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport words,
                             ParseExport(labelled, Ins(), ImportOptions{}));
  EXPECT_THAT(AnswerReport(words, Ins(), false), IsEmpty());
  EXPECT_THAT(AnswerReport(words, Ins(), true), SizeIs(18));
}

}  // namespace
}  // namespace kring::node

namespace kring::node {
namespace {

std::vector<uint32_t> NotAsked(const ImportRow& row) {
  return {row.record.not_asked().begin(), row.record.not_asked().end()};
}

TEST(PartialQuestionnaireTest, PisaOnlyExportImportsWithoutEmptyColumns) {
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(Fixture("pisa_only.csv"), Ins(),
                  WithMapping(Fixture("pisa_coded.yaml"))));
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rows, SizeIs(3));
  const ImportRow& row = parsed.rows[0];
  EXPECT_THAT(Responses(row),
              ElementsAre(1, 4, 4, 1, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(NotAsked(row),
              ElementsAre(6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
  // Asked but unanswered is not "not asked".
  EXPECT_EQ(parsed.rows[2].record.responses(0), 0u);
  EXPECT_THAT(NotAsked(parsed.rows[2]), SizeIs(11));
  EXPECT_THAT(survey::ComponentsAsked(row.record, Ins()),
              ElementsAre(survey::Component::kPerceptions));
  // Scales of components not asked have no score; the PISA scale has.
  std::vector<uint32_t> r = Responses(row);
  EXPECT_TRUE(Ins().ScaleScore(*Ins().FindScale("belong_perception"), r));
  EXPECT_FALSE(Ins().ScaleScore(*Ins().FindScale("belong_competencies"), r));
  // Row 3 answered 4 of 6 PISA items: exactly min_answered.
  EXPECT_TRUE(Ins().ScaleScore(*Ins().FindScale("belong_perception"),
                               Responses(parsed.rows[2])));
  EXPECT_TRUE(parsed.answers[6].not_asked);
  const std::string text =
      absl::StrJoin(AnswerReport(parsed, Ins(), true), "\n");
  EXPECT_THAT(text, HasSubstr("Not asked (no column; recorded as not asked): "
                              "KB_COMP01"));
  EXPECT_THAT(text, HasSubstr("No score on belong_competencies, "
                              "belong_opportunities, belong_motivation"));
  EXPECT_THAT(text, HasSubstr("KB_MOT03   I do not care whether I fit in at "
                              "school.    not asked"));
}

TEST(PartialQuestionnaireTest, SingleMissingItemsNeedNotAsked) {
  // KB_COMP04 missing while the other competencies items are there: most
  // likely a header that does not match.
  std::string header(kHeader);
  header.replace(header.find(",KB_COMP04"), 10, "");
  std::string row = Row("1");
  // Drop the 18th cell (KB_COMP04 is item 10: 8 fields + 10th item).
  size_t at = 0;
  for (int i = 0; i < 17; ++i) at = row.find(',', at) + 1;
  row.erase(at, row.find(',', at) + 1 - at);
  const std::string csv = header + row;
  EXPECT_THAT(ParseExport(csv, Ins(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("1 item(s)"), HasSubstr("KB_COMP04"),
                             HasSubstr("not_asked"))));
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      ParseExport(csv, Ins(), WithMapping("not_asked: [KB_COMP04]\n")));
  ASSERT_THAT(parsed.problems, IsEmpty());
  EXPECT_THAT(NotAsked(parsed.rows[0]), ElementsAre(9));
  EXPECT_EQ(parsed.rows[0].record.responses(9), 0u);
  // Listing an item the file has is an error.
  EXPECT_THAT(ParseExport(StrCat(kHeader, Row("1")), Ins(),
                          WithMapping("not_asked: [KB_COMP04]\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("remove it from not_asked")));
  // No item at all is still refused.
  EXPECT_THAT(
      ParseExport("pupil_number,wave,survey_month,sector,track,grade,"
                  "gender,age\n1,2025-26,3,vo,havo,2,meisje,13\n",
                  Ins(), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("17 item(s)")));
}

TEST(PartialQuestionnaireTest, RecordValidationKeepsNotAskedApartFromAnswers) {
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed,
                             ParseExport(Fixture("pisa_only.csv"), Ins(), {}));
  v1::PupilRecord rec = parsed.rows[0].record;
  rec.set_pseudonym(std::string(32, 'p'));
  KRING_EXPECT_OK(survey::ValidateRecord(rec, Ins(), false));
  v1::PupilRecord answered = rec;
  answered.set_responses(6, 3);
  EXPECT_THAT(survey::ValidateRecord(answered, Ins(), false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("KB_COMP01 was not asked but has an answer")));
  v1::PupilRecord unordered = rec;
  unordered.set_not_asked(0, 99);
  EXPECT_FALSE(survey::ValidateRecord(unordered, Ins(), false).ok());
  // A record from before not_asked existed: every component asked.
  v1::PupilRecord old = rec;
  old.clear_not_asked();
  EXPECT_THAT(survey::ComponentsAsked(old, Ins()), SizeIs(4));
}

}  // namespace
}  // namespace kring::node
