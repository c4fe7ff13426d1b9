// .xlsx exports through ParseExport: the same records as the CSV of the
// same data; Qualtrics matrix headers; hints for unrecognised headers.

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/import.h"
#include "node/xlsx_writer.h"
#include "tests/testing/status_matchers.h"
#include "util/file.h"

namespace kring::node {
namespace {

using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const survey::Instrument& Ins() { return survey::Instrument::BelongingV1(); }

std::string Fixture(const std::string& name) {
  auto bytes = ReadFileToString(std::string(KRING_SOURCE_DIR) +
                                "/tests/fixtures/import/" + name);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

// Every record with its pupil number, in file order, as comparable text.
std::vector<std::string> Records(const ParsedExport& p) {
  std::vector<std::string> out;
  for (const ImportRow& r : p.rows) {
    out.push_back(std::string(r.pupil_number.view()) + "|" +
                  r.record.ShortDebugString());
  }
  return out;
}

class FixtureTest
    : public ::testing::TestWithParam<std::pair<const char*, ExportFormat>> {};

TEST_P(FixtureTest, XlsxGivesTheSameRecordsAsTheCsv) {
  const auto [name, format] = GetParam();
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport csv,
      ParseExport(Fixture(std::string(name) + ".csv"), Ins(), {}));
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport xlsx,
      ParseExport(Fixture(std::string(name) + ".xlsx"), Ins(), {}));
  EXPECT_THAT(csv.problems, IsEmpty());
  EXPECT_THAT(xlsx.problems, IsEmpty());
  EXPECT_EQ(csv.format, format);
  EXPECT_EQ(xlsx.format, format);
  EXPECT_THAT(xlsx.rows, SizeIs(12));
  EXPECT_EQ(Records(xlsx), Records(csv));
  EXPECT_EQ(xlsx.dropped_identifying, csv.dropped_identifying);
  EXPECT_EQ(xlsx.ignored, csv.ignored);
  EXPECT_FALSE(xlsx.worksheet.empty());
  EXPECT_TRUE(csv.worksheet.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Tools, FixtureTest,
    ::testing::Values(std::pair("forms_nl", ExportFormat::kMicrosoftForms),
                      std::pair("forms_en", ExportFormat::kMicrosoftForms),
                      std::pair("qualtrics", ExportFormat::kQualtrics),
                      std::pair("limesurvey", ExportFormat::kLimeSurvey)));

TEST(ImportXlsxTest, AWorkbookWithSeveralSheetsSaysWhichItRead) {
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport p, ParseExport(Fixture("limesurvey.xlsx"), Ins(), {}));
  EXPECT_EQ(p.worksheet, "results");
  EXPECT_THAT(p.worksheets, ElementsAre("results", "info"));
}

const char kHeader[] =
    "pupil_number,wave,survey_month,sector,track,grade,gender,age,"
    "ST034Q01,ST034Q02,ST034Q03,ST034Q04,ST034Q05,ST034Q06,KB_COMP01,"
    "KB_COMP02,KB_COMP03,KB_COMP04,KB_OPP01,KB_OPP02,KB_OPP03,KB_OPP04,"
    "KB_MOT01,KB_MOT02,KB_MOT03";

std::vector<std::vector<std::string>> Split(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

TEST(ImportXlsxTest, RowProblemsNameTheSheetRow) {
  const std::string csv = std::string(kHeader) +
                          "\n0042,2025-26,3,vo,havo,2,meisje,13,"
                          "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n\n\n"
                          "0043,2025-26,3,vo,havo,2,onbekend,13,"
                          "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  auto rows = Split(csv);
  rows.insert(rows.begin() + 2, 2, std::vector<std::string>{});  // gap
  KRING_ASSERT_OK_AND_ASSIGN(std::string book, WriteXlsx(rows));
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport x, ParseExport(book, Ins(), {}));
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport c, ParseExport(csv, Ins(), {}));
  ASSERT_THAT(x.problems, SizeIs(1));
  ASSERT_THAT(c.problems, SizeIs(1));
  EXPECT_EQ(x.problems[0].line, 5u);  // the sheet's row, as on the CSV line
  EXPECT_EQ(c.problems[0].line, 5u);
  EXPECT_EQ(x.problems[0].reason, c.problems[0].reason);
  EXPECT_EQ(x.data_rows, 2u);
}

TEST(ImportXlsxTest, AnEmptyFirstSheetIsAnError) {
  KRING_ASSERT_OK_AND_ASSIGN(std::string book, WriteXlsx({}, "Leeg"));
  EXPECT_THAT(ParseExport(book, Ins(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("first worksheet (\"Leeg\") is empty")));
}

// Qualtrics: tags in row 1, texts in row 2, ImportIds in row 3.
std::string Qualtrics(const std::string& stem_of_first_item) {
  std::string tags =
      "ResponseId,leerlingnummer,meting,maand,sector,leerjaar,"
      "leerweg,geslacht,leeftijd";
  std::string texts =
      "Response ID,Leerlingnummer,Meting,Maand,Sector,"
      "Leerjaar,Leerweg,Geslacht,Leeftijd";
  std::string ids = "{\"\"ImportId\"\":\"\"_recordId\"\"}";
  for (int i = 0; i < 8; ++i) ids += ",{\"\"ImportId\"\":\"\"QID1\"\"}";
  std::string data = "R_1,4081123,2025-26,3,vo,2,havo,meisje,13";
  for (size_t i = 0; i < Ins().items().size(); ++i) {
    const survey::Item& item = Ins().items()[i];
    tags += ",Q5_" + std::to_string(i + 1);
    const std::string stem =
        i == 0 ? stem_of_first_item : "Hoe sterk - ben je het eens? - ";
    texts += ",\"" + stem + item.text_nl + "\"";
    ids += ",{\"\"ImportId\"\":\"\"QID5_" + std::to_string(i + 1) + "\"\"}";
    data += ",3";
  }
  return tags + "\n" + texts + "\n\"" + ids + "\"\n" + data + "\n";
}

TEST(ImportXlsxTest, QualtricsMatrixStatementsAreItems) {
  const std::string csv = Qualtrics("Hoe sterk ben je het eens? - ");
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport p, ParseExport(csv, Ins(), {}));
  EXPECT_EQ(p.format, ExportFormat::kQualtrics);
  EXPECT_THAT(p.problems, IsEmpty());
  ASSERT_THAT(p.rows, SizeIs(1));
  EXPECT_EQ(p.rows[0].line, 4u);
  EXPECT_THAT(p.rows[0].record.responses(), ::testing::Each(::testing::Eq(3u)));
}

TEST(ImportXlsxTest, AnUnrecognisedHeaderGetsAHint) {
  // The first statement is not an item's text.
  const std::string csv = Qualtrics("Hoe sterk ben je het eens? - Ik ");
  EXPECT_THAT(
      ParseExport(csv, Ins(), {}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("no column found for 1 item(s)"),
                     HasSubstr("ST034Q01"),
                     HasSubstr("Columns not recognised: \"Q5_1\" (statement "
                               "\"Ik Op school voel ik me een "
                               "buitenstaand\"...)"),
                     HasSubstr("matrix statement"))));
}

}  // namespace
}  // namespace kring::node
