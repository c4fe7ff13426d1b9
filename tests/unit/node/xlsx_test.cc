#include "node/xlsx.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/xlsx_writer.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {
namespace {

using ::kring::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kMain[] =
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main";

using Parts = std::vector<std::pair<std::string, std::string>>;

// A workbook around `sheet_data` (the inside of <sheetData>) with the given
// shared strings (<si> elements) and styles part.
std::string Book(const std::string& sheet_data, const std::string& sst = "",
                 const std::string& styles = "", bool date1904 = false) {
  Parts parts = WorkbookParts({"Blad1"}, date1904);
  parts.emplace_back("xl/worksheets/sheet1.xml",
                     std::string("<worksheet xmlns=\"") + kMain +
                         "\"><sheetData>" + sheet_data +
                         "</sheetData></worksheet>");
  parts.emplace_back(
      "xl/sharedStrings.xml",
      std::string("<sst xmlns=\"") + kMain + "\">" + sst + "</sst>");
  parts.emplace_back("xl/styles.xml", std::string("<styleSheet xmlns=\"") +
                                          kMain + "\">" + styles +
                                          "</styleSheet>");
  auto zip = ZipParts(parts);
  EXPECT_TRUE(zip.ok()) << zip.status();
  return zip.ok() ? *zip : "";
}

std::vector<std::vector<std::string>> Cells(const XlsxSheet& s) {
  std::vector<std::vector<std::string>> out;
  for (const XlsxRow& r : s.rows) out.push_back(r.cells);
  return out;
}

TEST(XlsxTest, SharedRichInlineNumbersBooleansAndGaps) {
  const std::string book = Book(
      "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
      "<c r=\"C1\" t=\"s\"><v>1</v></c></row>"
      "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><r><t>in</t></r>"
      "<r><t xml:space=\"preserve\"> line</t></r></is></c>"
      "<c r=\"B3\"><v>13</v></c><c r=\"C3\"><v>2.5</v></c>"
      "<c r=\"D3\"><v>1.3E1</v></c><c r=\"E3\" t=\"b\"><v>1</v></c>"
      "<c r=\"F3\" t=\"e\"><v>#N/A</v></c><c r=\"G3\" t=\"str\"><v>x</v></c>"
      "</row>"
      "<row><c><v>7</v></c><c t=\"s\"><v>2</v></c></row>",
      "<si><t>leerling&amp;nummer</t></si>"
      "<si><r><rPr><b/></rPr><t>Geslacht</t></r><r><t>_x000D_!</t></r>"
      "<rPh sb=\"0\" eb=\"1\"><t>phonetic</t></rPh></si>"
      "<si><t>laatste</t></si>");
  KRING_ASSERT_OK_AND_ASSIGN(XlsxSheet sheet, ReadFirstWorksheet(book));
  EXPECT_EQ(sheet.name, "Blad1");
  EXPECT_THAT(sheet.sheet_names, ElementsAre("Blad1"));
  ASSERT_EQ(sheet.rows.size(), 3u);
  EXPECT_EQ(sheet.rows[0].number, 1u);
  EXPECT_EQ(sheet.rows[1].number, 3u);
  EXPECT_EQ(sheet.rows[2].number, 4u);  // no r: the next row
  EXPECT_THAT(
      Cells(sheet),
      ElementsAre(
          ElementsAre("leerling&nummer", "", "Geslacht\r!", "", "", "", ""),
          ElementsAre("in line", "13", "2.5", "13", "TRUE", "#N/A", "x"),
          ElementsAre("7", "laatste", "", "", "", "", "")));
}

TEST(XlsxTest, DateFormatsGiveIsoText) {
  const std::string styles =
      "<numFmts><numFmt numFmtId=\"164\" formatCode=\"d-m-yyyy h:mm\"/>"
      "<numFmt numFmtId=\"165\" formatCode=\"0.00&quot; d&quot;\"/>"
      "<numFmt numFmtId=\"166\" formatCode=\"[$-409]mmm\\ yy;@\"/></numFmts>"
      "<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/>"
      "<xf numFmtId=\"164\"/><xf numFmtId=\"165\"/><xf numFmtId=\"166\"/>"
      "<xf numFmtId=\"2\"/></cellXfs>";
  const std::string book = Book(
      "<row r=\"1\"><c r=\"A1\" s=\"1\"><v>46095</v></c>"
      "<c r=\"B1\" s=\"2\"><v>46095.37847222222</v></c>"
      "<c r=\"C1\" s=\"3\"><v>46095</v></c>"
      "<c r=\"D1\" s=\"4\"><v>46095</v></c>"
      "<c r=\"E1\" s=\"5\"><v>46095</v></c>"
      "<c r=\"F1\" s=\"2\"><v>0.5</v></c></row>",
      "", styles);
  KRING_ASSERT_OK_AND_ASSIGN(XlsxSheet sheet, ReadFirstWorksheet(book));
  EXPECT_THAT(Cells(sheet), ElementsAre(ElementsAre(
                                "2026-03-14", "2026-03-14 09:05:00", "46095",
                                "2026-03-14", "46095", "12:00:00")));
  // The same serial in a 1904 workbook is four years and a day later.
  KRING_ASSERT_OK_AND_ASSIGN(
      XlsxSheet sheet1904,
      ReadFirstWorksheet(Book("<row><c s=\"1\"><v>44633</v></c></row>", "",
                              styles, /*date1904=*/true)));
  EXPECT_THAT(Cells(sheet1904), ElementsAre(ElementsAre("2026-03-14")));
}

TEST(XlsxTest, ExcelDateSerials) {
  EXPECT_EQ(ExcelDateText(1, false), "1900-01-01");
  EXPECT_EQ(ExcelDateText(59, false), "1900-02-28");
  EXPECT_EQ(ExcelDateText(60, false), "1900-02-29");  // Lotus's leap-year bug
  EXPECT_EQ(ExcelDateText(61, false), "1900-03-01");
  EXPECT_EQ(ExcelDateText(46095.999999, false), "2026-03-15");  // rounded
  EXPECT_EQ(ExcelDateText(0.25, false), "06:00:00");
  EXPECT_EQ(ExcelDateText(1, true), "1904-01-02");
  EXPECT_EQ(ExcelDateText(60, true), "1904-03-01");  // 1904 was a leap year
  EXPECT_EQ(ExcelDateText(-1, false), "-1");
}

TEST(XlsxTest, TheFirstSheetInWorkbookOrderIsRead) {
  // The workbook lists sheet2.xml first, by an absolute target, with a
  // namespace prefix; a chart sheet before it is no worksheet.
  const std::string rel =
      "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  Parts parts = {
      {"_rels/.rels",
       "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
       "2006/relationships\"><Relationship Id=\"r1\" Type=\"" +
           rel +
           "/officeDocument\" Target=\"xl/workbook.xml\"/>"
           "</Relationships>"},
      {"xl/workbook.xml",
       std::string("<x:workbook xmlns:x=\"") + kMain + "\" xmlns:r=\"" + rel +
           "\"><x:sheets><x:sheet name=\"Grafiek\" sheetId=\"3\" r:id=\"c\"/>"
           "<x:sheet name=\"Antwoorden\" sheetId=\"2\" r:id=\"b\"/>"
           "<x:sheet name=\"Blad1\" sheetId=\"1\" r:id=\"a\"/>"
           "</x:sheets></x:workbook>"},
      {"xl/_rels/workbook.xml.rels",
       "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
       "2006/relationships\"><Relationship Id=\"a\" Type=\"" +
           rel +
           "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
           "<Relationship Id=\"b\" Type=\"" +
           rel +
           "/worksheet\" Target=\"/xl/worksheets/sheet2.xml\"/>"
           "<Relationship Id=\"c\" Type=\"" +
           rel +
           "/chartsheet\" Target=\"chartsheets/sheet1.xml\"/>"
           "</Relationships>"},
      {"xl/worksheets/sheet1.xml",
       std::string("<worksheet xmlns=\"") + kMain +
           "\"><sheetData><row><c t=\"inlineStr\"><is><t>one</t></is></c>"
           "</row></sheetData></worksheet>"},
      {"xl/worksheets/sheet2.xml",
       std::string("<x:worksheet xmlns:x=\"") + kMain +
           "\"><x:sheetData><x:row><x:c t=\"inlineStr\"><x:is><x:t>two"
           "</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>"},
  };
  KRING_ASSERT_OK_AND_ASSIGN(std::string zip, ZipParts(parts));
  KRING_ASSERT_OK_AND_ASSIGN(XlsxSheet sheet, ReadFirstWorksheet(zip));
  EXPECT_EQ(sheet.name, "Antwoorden");
  EXPECT_THAT(sheet.sheet_names, ElementsAre("Antwoorden", "Blad1"));
  EXPECT_THAT(Cells(sheet), ElementsAre(ElementsAre("two")));
}

TEST(XlsxTest, WriterRoundTrip) {
  const std::vector<std::vector<std::string>> rows = {
      {"pupil_number", "age", "note <&>\""},
      {"0123", "13", "2.50"},
      {"4081123", "", "-7"}};
  KRING_ASSERT_OK_AND_ASSIGN(std::string book, WriteXlsx(rows, "Data"));
  EXPECT_TRUE(LooksLikeZip(book));
  KRING_ASSERT_OK_AND_ASSIGN(XlsxSheet sheet, ReadFirstWorksheet(book));
  EXPECT_EQ(sheet.name, "Data");
  EXPECT_EQ(Cells(sheet), rows);
}

TEST(XlsxTest, ZipBombsAndDamageAreRefused) {
  // A sheet of 8 MiB of spaces packs into a few KiB.
  std::string big(8 << 20, ' ');
  const std::string bomb = Book("<row><c><v>1</v></c></row>" + big);
  EXPECT_LT(bomb.size(), 100000u);
  XlsxLimits small;
  small.max_part_bytes = 1 << 20;
  EXPECT_THAT(ReadFirstWorksheet(bomb, small),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("unpacks to more than 1 MiB")));
  XlsxLimits total;
  total.max_total_bytes = 4 << 20;
  EXPECT_THAT(ReadFirstWorksheet(bomb, total),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(ReadFirstWorksheet(bomb).ok());
  XlsxLimits few;
  few.max_entries = 4;
  EXPECT_THAT(ReadFirstWorksheet(bomb, few),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("holds 7 files")));

  EXPECT_THAT(ReadFirstWorksheet("PK\x03\x04 not really"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a readable zip archive")));
  KRING_ASSERT_OK_AND_ASSIGN(std::string no_book,
                             ZipParts({{"hello.txt", "hi"}}));
  EXPECT_THAT(
      ReadFirstWorksheet(no_book),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no workbook")));
  EXPECT_THAT(
      ReadFirstWorksheet(Book("<row><c t=\"s\"><v>5</v></c></row>")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("cell A1 refers to a shared string that is missing")));
  EXPECT_THAT(
      ReadFirstWorksheet(Book("<row><c><v>1</v></c></row><row")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid XML")));
  EXPECT_THAT(
      ReadFirstWorksheet(
          Book("<row r=\"2\"><c r=\"B2\"><v>1</v></c><c r=\"A2\"><v>1</v>"
               "</c></row>")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of order")));
}

}  // namespace
}  // namespace kring::node
