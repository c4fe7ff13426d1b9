#include "node/import.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/importer.h"
#include "node/store.h"
#include "node/synth.h"
#include "survey/record.h"
#include "tests/testing/status_matchers.h"

namespace kring::node {

using survey::Instrument;
using survey::NormalizePupilNumber;
namespace {

using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

const Instrument& Ins() { return Instrument::BelongingV1(); }

std::string Synth(ExportFormat format, size_t rows, char delimiter = ',',
                  bool bom = false, bool crlf = false, bool special = false) {
  SynthOptions o;
  o.format = format;
  o.rows = rows;
  o.seed = 11;
  o.delimiter = delimiter;
  o.bom = bom;
  o.crlf = crlf;
  o.special_categories = special;
  return SynthesizeExport(Ins(), o);
}

absl::StatusOr<ParsedExport> Parse(std::string_view csv,
                                   ImportOptions options = {}) {
  return ParseExport(csv, Ins(), options);
}

// The kring template header and one valid row, for hand-made files.
const char kHeader[] =
    "pupil_number,wave,survey_month,sector,track,grade,gender,age,"
    "ST034Q01,ST034Q02,ST034Q03,ST034Q04,ST034Q05,ST034Q06,KB_COMP01,"
    "KB_COMP02,KB_COMP03,KB_COMP04,KB_OPP01,KB_OPP02,KB_OPP03,KB_OPP04,"
    "KB_MOT01,KB_MOT02,KB_MOT03\n";
std::string Row(
    std::string_view pupil,
    std::string_view answers = "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1") {
  return std::string(pupil) + ",2025-26,3,vo,havo,2,meisje,13," +
         std::string(answers) + "\n";
}

struct Variant {
  ExportFormat format;
  char delimiter;
  bool bom;
  bool crlf;
};

class FormatTest : public ::testing::TestWithParam<Variant> {};

TEST_P(FormatTest, SyntheticExportImportsCompletely) {
  const Variant v = GetParam();
  const std::string csv = Synth(v.format, 60, v.delimiter, v.bom, v.crlf);
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  EXPECT_EQ(parsed.format, v.format);
  EXPECT_EQ(parsed.delimiter, v.delimiter);
  EXPECT_EQ(parsed.had_bom, v.bom);
  EXPECT_EQ(parsed.crlf, v.crlf);
  EXPECT_THAT(parsed.problems, IsEmpty());
  EXPECT_EQ(parsed.data_rows, 60u);
  ASSERT_THAT(parsed.rows, SizeIs(60));
  for (const ImportRow& row : parsed.rows) {
    EXPECT_EQ(row.record.wave(), "2025-26");
    EXPECT_EQ(row.record.survey_month(), 3u);
    EXPECT_EQ(row.record.sector(), v1::SECTOR_VO);
    EXPECT_EQ(row.record.responses_size(),
              static_cast<int>(Ins().items().size()));
    EXPECT_TRUE(row.record.pseudonym().empty());
    EXPECT_FALSE(row.pupil_number.empty());
  }
}

TEST_P(FormatTest, ExplicitFormatMatchesDetection) {
  const Variant v = GetParam();
  ImportOptions o;
  o.format = v.format;
  KRING_ASSERT_OK_AND_ASSIGN(
      ParsedExport parsed,
      Parse(Synth(v.format, 10, v.delimiter, v.bom, v.crlf), o));
  EXPECT_THAT(parsed.rows, SizeIs(10));
}

std::vector<Variant> AllVariants() {
  std::vector<Variant> out;
  for (ExportFormat f :
       {ExportFormat::kKring, ExportFormat::kLimeSurvey,
        ExportFormat::kMicrosoftForms, ExportFormat::kQualtrics}) {
    out.push_back({f, ',', false, false});
    out.push_back({f, ';', true, true});  // Dutch Excel: BOM, CRLF, ';'
    out.push_back({f, ';', false, false});
    out.push_back({f, '\t', false, true});
    out.push_back({f, ',', true, false});
  }
  return out;
}

std::string VariantName(const ::testing::TestParamInfo<Variant>& info) {
  const Variant& v = info.param;
  std::string name(FormatName(v.format));
  name += v.delimiter == ','   ? "Comma"
          : v.delimiter == ';' ? "Semicolon"
                               : "Tab";
  if (v.bom) name += "Bom";
  if (v.crlf) name += "Crlf";
  return name;
}

INSTANTIATE_TEST_SUITE_P(Exports, FormatTest,
                         ::testing::ValuesIn(AllVariants()), VariantName);

// The four layouts of the same synthetic school carry the same pupils and
// answers (codes, labels, LimeSurvey's A-codes): import yields identical
// records from each.
TEST(ImportTest, AllFormatsYieldTheSameRecords) {
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport ref,
                             Parse(Synth(ExportFormat::kKring, 80)));
  for (ExportFormat f :
       {ExportFormat::kLimeSurvey, ExportFormat::kMicrosoftForms,
        ExportFormat::kQualtrics}) {
    KRING_ASSERT_OK_AND_ASSIGN(ParsedExport other, Parse(Synth(f, 80)));
    ASSERT_EQ(other.rows.size(), ref.rows.size()) << FormatName(f);
    for (size_t i = 0; i < ref.rows.size(); ++i) {
      EXPECT_EQ(other.rows[i].record.SerializeAsString(),
                ref.rows[i].record.SerializeAsString())
          << FormatName(f) << " row " << i;
      EXPECT_TRUE(other.rows[i].pupil_number == ref.rows[i].pupil_number);
    }
  }
}

TEST(ImportTest, IdentifyingColumnsAreDroppedAndNeverInRecords) {
  struct Case {
    ExportFormat format;
    std::vector<std::string> dropped;
  };
  const std::vector<Case> cases = {
      {ExportFormat::kLimeSurvey,
       {"submitdate", "startdate", "datestamp", "ipaddr", "refurl", "seed"}},
      {ExportFormat::kMicrosoftForms,
       {"Begintijd", "Tijd van voltooien", "E-mail", "Naam",
        "Heb je nog opmerkingen?"}},
      {ExportFormat::kQualtrics,
       {"StartDate", "EndDate", "IPAddress", "RecordedDate", "ResponseId",
        "RecipientLastName", "RecipientFirstName", "RecipientEmail",
        "ExternalReference", "LocationLatitude", "LocationLongitude",
        "opmerkingen"}},
  };
  for (const Case& c : cases) {
    const std::string csv = Synth(c.format, 30);
    KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
    for (const std::string& d : c.dropped) {
      EXPECT_THAT(parsed.dropped_identifying, Contains(d))
          << FormatName(c.format);
    }
    for (const ImportRow& row : parsed.rows) {
      const std::string bytes = row.record.SerializeAsString();
      for (std::string_view pii :
           {"@leerling", "de Jong", "Sanne", "10.0.", "mentor", "R_"}) {
        EXPECT_EQ(bytes.find(pii), std::string::npos) << pii;
      }
    }
  }
}

TEST(ImportTest, EveryProblemIsListedWithLineColumnAndReason) {
  std::string csv = kHeader;
  csv += Row("1001");                                           // line 2: fine
  csv += Row("1002", "1,2,3,9,1,2,3,4,1,2,3,4,1,2,3,4,1");      // line 3
  csv += Row("", "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1");          // line 4
  csv += Row("1001");                                           // line 5: dup
  csv += Row("1005", "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,nooit");  // line 6
  csv += "1006,2025-26,3,vo,havo,2,meisje,13,1,2\n";            // line 7
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  EXPECT_THAT(parsed.rows, IsEmpty());  // all or nothing
  EXPECT_EQ(parsed.data_rows, 6u);
  using P = ImportProblem;
  EXPECT_THAT(
      parsed.problems,
      ElementsAre(
          AllOf(Field(&P::line, 3), Field(&P::column, "ST034Q04"),
                Field(&P::reason, HasSubstr("out of range"))),
          AllOf(Field(&P::line, 4), Field(&P::column, "pupil_number"),
                Field(&P::reason, HasSubstr("pupil number is missing"))),
          AllOf(Field(&P::line, 5), Field(&P::column, "pupil_number"),
                Field(&P::reason, HasSubstr("duplicate pupil in wave "
                                            "2025-26")),
                Field(&P::reason, HasSubstr("line 2"))),
          AllOf(Field(&P::line, 6), Field(&P::column, "KB_MOT03"),
                Field(&P::reason, HasSubstr("unknown answer label"))),
          AllOf(Field(&P::line, 7), Field(&P::column, ""),
                Field(&P::reason, HasSubstr("cells")))));
}

TEST(ImportTest, InvalidFieldValuesAreProblems) {
  std::string csv = kHeader;
  csv +=
      "2001,2025-27,3,vo,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv +=
      "2002,2025-26,13,vo,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv +=
      "2003,2025-26,3,xx,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv +=
      "2004,2025-26,3,vo,mbo-2,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv +=
      "2005,2025-26,3,vo,havo,12,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv += "2006,2025-26,3,vo,havo,2,m,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  csv +=
      "2007,2025-26,3,vo,havo,2,meisje,130,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  EXPECT_THAT(parsed.rows, IsEmpty());
  using P = ImportProblem;
  EXPECT_THAT(
      parsed.problems,
      ElementsAre(AllOf(Field(&P::line, 2), Field(&P::column, "wave")),
                  AllOf(Field(&P::line, 3), Field(&P::column, "survey_month")),
                  AllOf(Field(&P::line, 4), Field(&P::column, "sector")),
                  AllOf(Field(&P::line, 5), Field(&P::column, ""),
                        Field(&P::reason, HasSubstr("track"))),
                  AllOf(Field(&P::line, 6), Field(&P::column, "grade")),
                  AllOf(Field(&P::line, 7), Field(&P::column, "gender")),
                  AllOf(Field(&P::line, 8), Field(&P::column, "age"))));
}

TEST(ImportTest, ProblemsNeverQuoteThePupilNumber) {
  std::string csv = kHeader;
  csv += Row("SECRET-77");
  csv += Row("secret-77 ");  // the same pupil, spelled differently
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  ASSERT_THAT(parsed.problems, SizeIs(1));
  EXPECT_THAT(parsed.problems[0].reason, Not(HasSubstr("77")));
}

TEST(ImportTest, LineNumbersCountQuotedLineBreaksAndBlankLines) {
  std::string csv = "naam,";
  csv += std::string(kHeader).substr(0);
  std::string body = "\"Jan\nde Vries\"," + Row("3001");
  body += "\n";  // blank line
  body += "\"Piet\"," + Row("3002", "1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,7");
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv + body));
  ASSERT_THAT(parsed.problems, SizeIs(1));
  EXPECT_EQ(parsed.problems[0].line, 5u);
  EXPECT_THAT(parsed.dropped_identifying, ElementsAre("naam"));
}

TEST(ImportTest, StructuralErrorsImportNothing) {
  EXPECT_THAT(Parse(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(Parse(kHeader), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("no data rows")));
  // No pupil-number column.
  std::string no_pupil = std::string(kHeader).substr(13);
  no_pupil.insert(0, "x,");
  EXPECT_THAT(
      Parse(no_pupil + "1," + Row("1").substr(2)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pupil number")));
  // An item column missing.
  std::string header(kHeader);
  header = header.substr(0, header.rfind(",KB_MOT03")) + "\n";
  EXPECT_THAT(
      Parse(header + "1,2025-26,3,vo,havo,2,meisje,13,1,2,3,4,1,2,3,4,"
                     "1,2,3,4,1,2,3,4\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("KB_MOT03")));
  // A quote that is never closed.
  EXPECT_THAT(
      Parse(std::string(kHeader) + "\"1001," + Row("x")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid CSV")));
  // Binary data (an .xlsx saved as .csv).
  EXPECT_THAT(Parse(std::string("PK\x03\x04\0\0", 6)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("xlsx")));
  // The same header twice.
  EXPECT_THAT(
      Parse("wave,wave\n1,2\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("occurs twice")));
}

TEST(ImportTest, MissingFieldsComeFromDefaultsOrAreAnError) {
  // A template without wave, month and sector columns.
  std::string header(kHeader);
  header.replace(0, header.find(",track"), "pupil_number");
  std::string csv = header +
                    "4001,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,"
                    "1,2,3,4,1\n";
  EXPECT_THAT(Parse(csv),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("wave"), HasSubstr("survey_month"),
                             HasSubstr("sector"))));
  ImportOptions o;
  o.defaults = {{"wave", "2024-25"}, {"survey_month", "11"}, {"sector", "vo"}};
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv, o));
  ASSERT_THAT(parsed.rows, SizeIs(1));
  EXPECT_EQ(parsed.rows[0].record.wave(), "2024-25");
  EXPECT_EQ(parsed.rows[0].record.survey_month(), 11u);
}

TEST(ImportTest, SurveyMonthAndWaveFromTheCompletionTimestamp) {
  std::string csv = std::string("Tijd van voltooien,") + kHeader;
  csv.replace(csv.find("wave,survey_month,"), 18, "");
  csv +=
      "\"14-10-2025 9:05:00\",5001,vo,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,"
      "2,3,4,1,2,3,4,1\n";
  csv +=
      "2026-04-02 10:00:00,5002,vo,havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,"
      "4,1,2,3,4,1\n";
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  ASSERT_THAT(parsed.rows, SizeIs(2)) << parsed.problems.size();
  EXPECT_EQ(parsed.rows[0].record.survey_month(), 10u);
  EXPECT_EQ(parsed.rows[0].record.wave(), "2025-26");
  EXPECT_EQ(parsed.rows[1].record.survey_month(), 4u);
  EXPECT_EQ(parsed.rows[1].record.wave(), "2025-26");
  EXPECT_THAT(parsed.dropped_identifying, ElementsAre("Tijd van voltooien"));
}

TEST(ImportTest, MappingFileMapsAnOwnLayout) {
  auto mapping = ColumnMapping::Parse(R"(
columns:
  Leerling ID: pupil_number
  Klas: grade
  Niv: track
  Jongen/meisje: gender
  Lft: age
  Mentor: drop
  V1: ST034Q01
  V2: ST034Q02
  V3: ST034Q03
  V4: ST034Q04
  V5: ST034Q05
  V6: ST034Q06
  C1: KB_COMP01
  C2: KB_COMP02
  C3: KB_COMP03
  C4: KB_COMP04
  O1: KB_OPP01
  O2: KB_OPP02
  O3: KB_OPP03
  O4: KB_OPP04
  M1: KB_MOT01
  M2: KB_MOT02
  M3: KB_MOT03
constants:
  wave: 2025-26
  survey_month: 3
  sector: vo
)");
  KRING_ASSERT_OK_AND_ASSIGN(ColumnMapping m, std::move(mapping));
  std::string csv =
      "Leerling ID;Klas;Niv;Jongen/meisje;Lft;Mentor;V1;V2;V3;V4;V5;V6;C1;C2;"
      "C3;C4;O1;O2;O3;O4;M1;M2;M3\n"
      "6001;3;vwo;jongen;14;Mw. de Boer;mee eens;1;2;3;4;1;2;3;4;1;2;3;4;1;2;"
      "3;4\n";
  ImportOptions o;
  o.mapping = m;
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv, o));
  ASSERT_THAT(parsed.problems, IsEmpty());
  ASSERT_THAT(parsed.rows, SizeIs(1));
  const v1::PupilRecord& r = parsed.rows[0].record;
  EXPECT_EQ(r.grade(), 3u);
  EXPECT_EQ(r.track(), v1::TRACK_VWO);
  EXPECT_EQ(r.gender(), v1::GENDER_JONGEN);
  EXPECT_EQ(r.responses(0), 3u);
  EXPECT_THAT(parsed.dropped_identifying, ElementsAre("Mentor"));
  EXPECT_EQ(r.SerializeAsString().find("Boer"), std::string::npos);
}

TEST(ImportTest, MappingFileErrors) {
  EXPECT_THAT(ColumnMapping::Parse("columns: [1, 2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid YAML")));
  EXPECT_THAT(
      ColumnMapping::Parse("colums: {}"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown key")));
  EXPECT_THAT(
      ColumnMapping::Parse("constants: {shoe_size: 42}"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown field")));
  KRING_ASSERT_OK_AND_ASSIGN(ColumnMapping m,
                             ColumnMapping::Parse("columns: {A: nonsense}"));
  ImportOptions o;
  o.mapping = m;
  EXPECT_THAT(Parse("A\n1\n", o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("neither a record field nor an item")));
}

TEST(ImportTest, SpecialCategoriesOnlyWhenEnabled) {
  const std::string csv = Synth(ExportFormat::kKring, 20, ',', false, false,
                                /*special=*/true);
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport off, Parse(csv));
  ASSERT_THAT(off.rows, SizeIs(20));
  EXPECT_THAT(off.ignored, Contains(HasSubstr("migration_background")));
  for (const auto& row : off.rows) {
    EXPECT_EQ(row.record.migration_background(),
              v1::MIGRATION_BACKGROUND_UNSPECIFIED);
    EXPECT_EQ(row.record.financial_strain(), v1::FINANCIAL_STRAIN_UNSPECIFIED);
  }
  ImportOptions on;
  on.special_categories = true;
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv, on));
  ASSERT_THAT(parsed.rows, SizeIs(20));
  for (const auto& row : parsed.rows) {
    EXPECT_NE(row.record.migration_background(),
              v1::MIGRATION_BACKGROUND_UNSPECIFIED);
  }
}

TEST(ImportTest, ProgressIsReported) {
  size_t calls = 0, last = 0, total = 0;
  ImportOptions o;
  o.progress = [&](size_t done, size_t t) {
    ++calls;
    last = done;
    total = t;
  };
  const std::string csv = Synth(ExportFormat::kKring, 20, ',', true);
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv, o));
  EXPECT_GE(calls, 1u);
  EXPECT_EQ(last, csv.size());
  EXPECT_EQ(total, csv.size());
}

// ImportExport: parse + store, all or nothing.
class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-import-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    KeySource key = KeySource::Passphrase(
        crypto::SecretBytes::CopyFrom(std::string_view("import test pass")));
    key.limits = crypto::PasswordHashLimits::Interactive();
    auto store = Store::Init(dir_ / "data", key, {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_.emplace(*std::move(store));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::optional<Store> store_;
};

TEST_F(ImporterTest, BadFileStoresNothing) {
  std::string csv = Synth(ExportFormat::kMicrosoftForms, 50);
  csv.replace(csv.rfind("mee eens"), 8, "misschien");
  KRING_ASSERT_OK_AND_ASSIGN(ImportOutcome out,
                             ImportExport(*store_, csv, Ins(), {}, false));
  EXPECT_THAT(out.parsed.problems, SizeIs(1));
  EXPECT_EQ(out.result.added, 0u);
  EXPECT_EQ(*store_->Count(), 0u);
}

TEST_F(ImporterTest, ImportReimportAndReplace) {
  const std::string csv = Synth(ExportFormat::kQualtrics, 40);
  KRING_ASSERT_OK_AND_ASSIGN(ImportOutcome first,
                             ImportExport(*store_, csv, Ins(), {}, false));
  EXPECT_EQ(first.result.added, 40u);
  EXPECT_THAT(ImportExport(*store_, csv, Ins(), {}, false),
              StatusIs(absl::StatusCode::kAlreadyExists));
  KRING_ASSERT_OK_AND_ASSIGN(ImportOutcome again,
                             ImportExport(*store_, csv, Ins(), {}, true));
  EXPECT_EQ(again.result.added, 40u);
  EXPECT_EQ(again.result.replaced, 40u);
  EXPECT_EQ(*store_->Count(), 40u);
  // The same pupils in another file of the same wave: duplicates, refused.
  EXPECT_THAT(
      ImportExport(*store_, Synth(ExportFormat::kKring, 40), Ins(), {}, false),
      StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(*store_->Count(), 40u);
  // Stored records carry the store's pseudonyms, never the numbers.
  std::vector<std::string> pseudonyms;
  KRING_ASSERT_OK(store_->ForEach(
      [&](const v1::PupilRecord& r) { pseudonyms.push_back(r.pseudonym()); }));
  ASSERT_THAT(pseudonyms, SizeIs(40));
  EXPECT_EQ(pseudonyms[0].size(), 32u);
}

}  // namespace
}  // namespace kring::node

namespace kring::node {
namespace {

TEST(ImportTest, PupilNumbersAreNormalisedLikeTheStoreDoes) {
  EXPECT_EQ(NormalizePupilNumber(" ab 12\xC2\xA0"), "AB12");
  std::string csv = kHeader;
  csv += Row("AB 12");
  csv += Row("ab12\xC2\xA0");  // the same pupil
  KRING_ASSERT_OK_AND_ASSIGN(ParsedExport parsed, Parse(csv));
  ASSERT_THAT(parsed.problems, SizeIs(1));
  EXPECT_THAT(parsed.problems[0].reason, HasSubstr("duplicate pupil"));
}

TEST(ImportTest, ValuesForTheWholeFileAreCheckedOnce) {
  std::string header(kHeader);
  header.replace(0, header.find(",track"), "pupil_number");
  std::string csv = header;
  for (int i = 0; i < 5; ++i) {
    csv += std::to_string(7000 + i) +
           ",havo,2,meisje,13,1,2,3,4,1,2,3,4,1,2,3,4,1,2,3,4,1\n";
  }
  ImportOptions o;
  o.defaults = {{"wave", "2024-26"}, {"survey_month", "3"}, {"sector", "vo"}};
  EXPECT_THAT(Parse(csv, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                      AllOf(HasSubstr("every row's wave"),
                                            HasSubstr("2024-26"))));
}

TEST(ImportTest, MappingMustNameExistingColumnsAndNoPupilConstant) {
  KRING_ASSERT_OK_AND_ASSIGN(ColumnMapping m,
                             ColumnMapping::Parse("columns: {Klass: drop}"));
  ImportOptions o;
  o.mapping = m;
  EXPECT_THAT(Parse(std::string(kHeader) + Row("1"), o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no column \"Klass\"")));
  EXPECT_THAT(ColumnMapping::Parse("constants: {pupil_number: 1}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pupil_number cannot be a constant")));
}

}  // namespace
}  // namespace kring::node
