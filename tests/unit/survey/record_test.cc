#include "survey/record.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::survey {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::IsOkAndHolds;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

template <typename E>
struct Case {
  std::string_view text;
  E want;
};

// --- Sector ----------------------------------------------------------------

TEST(ParseSectorTest, Accepted) {
  for (Case<v1::Sector> c : std::vector<Case<v1::Sector>>{
           {"vo", v1::SECTOR_VO},
           {"VO", v1::SECTOR_VO},
           {" Voortgezet  Onderwijs ", v1::SECTOR_VO},
           {"secondary", v1::SECTOR_VO},
           {"po", v1::SECTOR_PO},
           {"basisschool", v1::SECTOR_PO},
           {"primair onderwijs", v1::SECTOR_PO},
           {"mbo", v1::SECTOR_MBO},
           {"so", v1::SECTOR_SO},
           {"speciaal onderwijs", v1::SECTOR_SO},
           {"VSO", v1::SECTOR_VSO},
           {"voortgezet speciaal onderwijs", v1::SECTOR_VSO},
       }) {
    EXPECT_THAT(ParseSector(c.text), IsOkAndHolds(c.want)) << c.text;
  }
}

TEST(ParseSectorTest, RejectedWithTheAcceptedValues) {
  for (std::string_view bad : {"", "  ", "hbo", "wo", "v.o.", "vo vo"}) {
    EXPECT_THAT(ParseSector(bad),
                StatusIs(kInvalid, AllOf(HasSubstr("sector"),
                                         HasSubstr("accepted values: po"),
                                         HasSubstr("vso"))))
        << bad;
  }
  EXPECT_THAT(ParseSector("hbo"), StatusIs(kInvalid, HasSubstr("\"hbo\"")));
  EXPECT_THAT(ParseSector(""), StatusIs(kInvalid, HasSubstr("empty value")));
}

// --- Track -----------------------------------------------------------------

TEST(ParseTrackTest, Accepted) {
  for (Case<v1::Track> c : std::vector<Case<v1::Track>>{
           {"pro", v1::TRACK_PRO},
           {"Praktijkonderwijs", v1::TRACK_PRO},
           {"vmbo-b", v1::TRACK_VMBO_B},
           {"vmbo bb", v1::TRACK_VMBO_B},
           {"VMBO-BB", v1::TRACK_VMBO_B},
           {"basis", v1::TRACK_VMBO_B},
           {"vmbo-k", v1::TRACK_VMBO_K},
           {"kader", v1::TRACK_VMBO_K},
           {"vmbo kb", v1::TRACK_VMBO_K},
           {"vmbo-gt", v1::TRACK_VMBO_GT},
           {"vmbo-tl", v1::TRACK_VMBO_GT},
           {"vmbo_gt", v1::TRACK_VMBO_GT},
           {"mavo", v1::TRACK_VMBO_GT},
           {"gl/tl", v1::TRACK_VMBO_GT},
           {"GL/TL", v1::TRACK_VMBO_GT},
           {"havo", v1::TRACK_HAVO},
           {"HAVO", v1::TRACK_HAVO},
           {"vwo", v1::TRACK_VWO},
           {"gymnasium", v1::TRACK_VWO},
           {"Atheneum", v1::TRACK_VWO},
           {"mbo-1", v1::TRACK_MBO_1},
           {"entree", v1::TRACK_MBO_1},
           {"mbo 2", v1::TRACK_MBO_2},
           {"mbo niveau 2", v1::TRACK_MBO_2},
           {"MBO-niveau 3", v1::TRACK_MBO_3},
           {"mbo4", v1::TRACK_MBO_4},
           {"mbo-4", v1::TRACK_MBO_4},
           {"n.v.t.", v1::TRACK_NVT},
           {"nvt", v1::TRACK_NVT},
           {"N/A", v1::TRACK_NVT},
           {"niet van toepassing", v1::TRACK_NVT},
       }) {
    EXPECT_THAT(ParseTrack(c.text), IsOkAndHolds(c.want)) << c.text;
  }
}

TEST(ParseTrackTest, Rejected) {
  for (std::string_view bad : {"", "vmbo", "mbo", "mbo-5", "hbo", "gt/tl/x"}) {
    EXPECT_THAT(
        ParseTrack(bad),
        StatusIs(kInvalid,
                 AllOf(HasSubstr("track"), HasSubstr("vmbo-gt (vmbo-tl"),
                       HasSubstr("mavo"), HasSubstr("n.v.t. (nvt"))))
        << bad;
  }
  EXPECT_THAT(ParseTrack("havo/vwo"),
              StatusIs(kInvalid, HasSubstr("combined class")));
}

// --- Gender ----------------------------------------------------------------

TEST(ParseGenderTest, Accepted) {
  for (Case<v1::Gender> c : std::vector<Case<v1::Gender>>{
           {"jongen", v1::GENDER_JONGEN},
           {"Boy", v1::GENDER_JONGEN},
           {"man", v1::GENDER_JONGEN},
           {"meisje", v1::GENDER_MEISJE},
           {"GIRL", v1::GENDER_MEISJE},
           {"vrouw", v1::GENDER_MEISJE},
           {"V", v1::GENDER_MEISJE},
           {"anders", v1::GENDER_ANDERS},
           {"other", v1::GENDER_ANDERS},
           {"non-binair", v1::GENDER_ANDERS},
           {"Non binair", v1::GENDER_ANDERS},
           {"wil niet zeggen", v1::GENDER_WIL_NIET_ZEGGEN},
           {"Zeg ik liever niet", v1::GENDER_WIL_NIET_ZEGGEN},
           {"prefer not to say", v1::GENDER_WIL_NIET_ZEGGEN},
       }) {
    EXPECT_THAT(ParseGender(c.text), IsOkAndHolds(c.want)) << c.text;
  }
}

TEST(ParseGenderTest, Rejected) {
  for (std::string_view bad : {"", "onbekend", "jongens", "2"}) {
    EXPECT_THAT(
        ParseGender(bad),
        StatusIs(kInvalid, AllOf(HasSubstr("gender"), HasSubstr("jongen"),
                                 HasSubstr("wil niet zeggen"))))
        << bad;
  }
  EXPECT_THAT(ParseGender("M"), StatusIs(kInvalid, HasSubstr("ambiguous")));
}

// --- Age band --------------------------------------------------------------

TEST(ParseAgeBandTest, Accepted) {
  for (Case<v1::AgeBand> c : std::vector<Case<v1::AgeBand>>{
           {"12-13", v1::AGE_BAND_12_13},
           {"12 - 13", v1::AGE_BAND_12_13},
           {"12\xE2\x80\x93"
            "13",
            v1::AGE_BAND_12_13},  // en dash
           {"13", v1::AGE_BAND_12_13},
           {"12", v1::AGE_BAND_12_13},
           {"13 jaar", v1::AGE_BAND_12_13},
           {"4", v1::AGE_BAND_UNDER_10},
           {"9", v1::AGE_BAND_UNDER_10},
           {"<10", v1::AGE_BAND_UNDER_10},
           {"jonger dan 10", v1::AGE_BAND_UNDER_10},
           {"10", v1::AGE_BAND_10_11},
           {"10-11", v1::AGE_BAND_10_11},
           {"14-15", v1::AGE_BAND_14_15},
           {"15", v1::AGE_BAND_14_15},
           {"16-17", v1::AGE_BAND_16_17},
           {"17 years", v1::AGE_BAND_16_17},
           {"18", v1::AGE_BAND_18_PLUS},
           {"23", v1::AGE_BAND_18_PLUS},
           {"18+", v1::AGE_BAND_18_PLUS},
           {"18 of ouder", v1::AGE_BAND_18_PLUS},
       }) {
    EXPECT_THAT(ParseAgeBand(c.text), IsOkAndHolds(c.want)) << c.text;
  }
}

TEST(ParseAgeBandTest, Rejected) {
  for (std::string_view bad :
       {"", "abc", "12-15", "11-12", "13-12", "-5", "12.5", "twaalf"}) {
    EXPECT_THAT(
        ParseAgeBand(bad),
        StatusIs(kInvalid, AllOf(HasSubstr("age band"), HasSubstr("12-13"),
                                 HasSubstr("single age 4..99"))))
        << bad;
  }
  for (std::string_view bad : {"3", "0", "100", "99999999999"}) {
    EXPECT_THAT(ParseAgeBand(bad),
                StatusIs(kInvalid, HasSubstr("outside 4..99")))
        << bad;
  }
}

// --- Special categories ----------------------------------------------------

TEST(ParseMigrationBackgroundTest, AcceptedAndRejectedWithoutEchoing) {
  for (Case<v1::MigrationBackground> c :
       std::vector<Case<v1::MigrationBackground>>{
           {"geen", v1::MIGRATION_BACKGROUND_NONE},
           {"Geen migratieachtergrond", v1::MIGRATION_BACKGROUND_NONE},
           {"none", v1::MIGRATION_BACKGROUND_NONE},
           {"eerste generatie", v1::MIGRATION_BACKGROUND_FIRST_GENERATION},
           {"1e generatie", v1::MIGRATION_BACKGROUND_FIRST_GENERATION},
           {"first-generation", v1::MIGRATION_BACKGROUND_FIRST_GENERATION},
           {"tweede generatie", v1::MIGRATION_BACKGROUND_SECOND_GENERATION},
           {"second generation", v1::MIGRATION_BACKGROUND_SECOND_GENERATION},
           {"onbekend", v1::MIGRATION_BACKGROUND_UNKNOWN},
           {"wil niet zeggen", v1::MIGRATION_BACKGROUND_UNKNOWN},
           {"prefer not to say", v1::MIGRATION_BACKGROUND_UNKNOWN},
       }) {
    EXPECT_THAT(ParseMigrationBackground(c.text), IsOkAndHolds(c.want))
        << c.text;
  }
  absl::StatusOr<v1::MigrationBackground> bad =
      ParseMigrationBackground("Marokkaans-Nederlands");
  EXPECT_THAT(bad, StatusIs(kInvalid, AllOf(HasSubstr("migration background"),
                                            HasSubstr("eerste generatie"),
                                            HasSubstr("not shown"))));
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("Marokka")));
  EXPECT_THAT(ParseMigrationBackground(""), StatusIs(kInvalid));
  EXPECT_THAT(ParseMigrationBackground("derde generatie"), StatusIs(kInvalid));
}

TEST(ParseFinancialStrainTest, AcceptedAndRejectedWithoutEchoing) {
  for (Case<v1::FinancialStrain> c : std::vector<Case<v1::FinancialStrain>>{
           {"geen", v1::FINANCIAL_STRAIN_NONE},
           {"none", v1::FINANCIAL_STRAIN_NONE},
           {"enige", v1::FINANCIAL_STRAIN_SOME},
           {"een beetje", v1::FINANCIAL_STRAIN_SOME},
           {"some", v1::FINANCIAL_STRAIN_SOME},
           {"ernstige", v1::FINANCIAL_STRAIN_SEVERE},
           {"Veel moeite", v1::FINANCIAL_STRAIN_SEVERE},
           {"severe", v1::FINANCIAL_STRAIN_SEVERE},
           {"onbekend", v1::FINANCIAL_STRAIN_UNKNOWN},
           {"unknown", v1::FINANCIAL_STRAIN_UNKNOWN},
       }) {
    EXPECT_THAT(ParseFinancialStrain(c.text), IsOkAndHolds(c.want)) << c.text;
  }
  absl::StatusOr<v1::FinancialStrain> bad =
      ParseFinancialStrain("bijstand sinds 2019");
  EXPECT_THAT(bad, StatusIs(kInvalid, AllOf(HasSubstr("financial strain"),
                                            HasSubstr("ernstige"))));
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("bijstand")));
}

// --- Names -----------------------------------------------------------------

TEST(NameTest, CanonicalDutchNames) {
  EXPECT_EQ(Name(v1::SECTOR_VO), "vo");
  EXPECT_EQ(Name(v1::SECTOR_MBO), "mbo");
  EXPECT_EQ(Name(v1::TRACK_VMBO_GT), "vmbo-gt");
  EXPECT_EQ(Name(v1::TRACK_VMBO_B), "vmbo-b");
  EXPECT_EQ(Name(v1::TRACK_MBO_2), "mbo-2");
  EXPECT_EQ(Name(v1::TRACK_NVT), "n.v.t.");
  EXPECT_EQ(Name(v1::GENDER_WIL_NIET_ZEGGEN), "wil niet zeggen");
  EXPECT_EQ(Name(v1::GENDER_MEISJE), "meisje");
  EXPECT_EQ(Name(v1::AGE_BAND_12_13), "12-13");
  EXPECT_EQ(Name(v1::AGE_BAND_UNDER_10), "<10");
  EXPECT_EQ(Name(v1::AGE_BAND_18_PLUS), "18+");
  EXPECT_EQ(Name(v1::MIGRATION_BACKGROUND_SECOND_GENERATION),
            "tweede generatie");
  EXPECT_EQ(Name(v1::FINANCIAL_STRAIN_SOME), "enige");
}

TEST(NameTest, UnspecifiedAndInvalid) {
  EXPECT_EQ(Name(v1::SECTOR_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(v1::TRACK_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(v1::GENDER_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(v1::AGE_BAND_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(v1::MIGRATION_BACKGROUND_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(v1::FINANCIAL_STRAIN_UNSPECIFIED), "niet ingevuld");
  EXPECT_EQ(Name(static_cast<v1::Track>(99)), "ongeldig");
  EXPECT_EQ(Name(static_cast<v1::Gender>(-1)), "ongeldig");
}

TEST(NameTest, EveryNameParsesBackToItsValue) {
  for (int i = 1; i <= v1::Sector_MAX; ++i) {
    auto v = static_cast<v1::Sector>(i);
    EXPECT_THAT(ParseSector(Name(v)), IsOkAndHolds(v)) << i;
  }
  for (int i = 1; i <= v1::Track_MAX; ++i) {
    auto v = static_cast<v1::Track>(i);
    EXPECT_THAT(ParseTrack(Name(v)), IsOkAndHolds(v)) << i;
  }
  for (int i = 1; i <= v1::Gender_MAX; ++i) {
    auto v = static_cast<v1::Gender>(i);
    EXPECT_THAT(ParseGender(Name(v)), IsOkAndHolds(v)) << i;
  }
  for (int i = 1; i <= v1::AgeBand_MAX; ++i) {
    auto v = static_cast<v1::AgeBand>(i);
    EXPECT_THAT(ParseAgeBand(Name(v)), IsOkAndHolds(v)) << i;
  }
  for (int i = 1; i <= v1::MigrationBackground_MAX; ++i) {
    auto v = static_cast<v1::MigrationBackground>(i);
    EXPECT_THAT(ParseMigrationBackground(Name(v)), IsOkAndHolds(v)) << i;
  }
  for (int i = 1; i <= v1::FinancialStrain_MAX; ++i) {
    auto v = static_cast<v1::FinancialStrain>(i);
    EXPECT_THAT(ParseFinancialStrain(Name(v)), IsOkAndHolds(v)) << i;
  }
}

TEST(ErrorMessageTest, OffendingValueIsCutAndSanitised) {
  std::string long_value(1000, 'x');
  absl::Status s = ParseSector(long_value).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(40, 'x')));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(std::string(41, 'x'))));
  s = ParseGender("a\nb\x1b[31m").status();
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("\n")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("\x1b")));
}

// --- Wave and survey month -------------------------------------------------

TEST(ValidateWaveTest, Accepted) {
  for (std::string_view w : {"2025-26", "2000-01", "2019-20", "2099-00"}) {
    EXPECT_THAT(ValidateWave(w), IsOk()) << w;
  }
}

TEST(ValidateWaveTest, Rejected) {
  for (std::string_view w :
       {"", "2025-27", "2025-25", "2025/26", "25-26", "2025-2026", "2025-26 ",
        " 2025-26", "2025–26", "20a5-26", "2025-2x"}) {
    EXPECT_THAT(
        ValidateWave(w),
        StatusIs(kInvalid, AllOf(HasSubstr("wave"), HasSubstr("2025-26"))))
        << w;
  }
  EXPECT_THAT(ValidateWave("1999-00"),
              StatusIs(kInvalid, HasSubstr("2000..2099")));
}

TEST(ParseSurveyMonthTest, Accepted) {
  for (Case<uint32_t> c : std::vector<Case<uint32_t>>{
           {"3", 3},
           {"03", 3},
           {" 12 ", 12},
           {"1", 1},
           {"maart", 3},
           {"March", 3},
           {"MRT", 3},
           {"mrt.", 3},
           {"mei", 5},
           {"may", 5},
           {"okt", 10},
           {"Oktober", 10},
           {"october", 10},
           {"2025-03-14", 3},
           {"2024-02-29", 2},
           {"2025-10-01T09:30:00", 10},
           {"2025-11-30 08:15", 11},
       }) {
    EXPECT_THAT(ParseSurveyMonth(c.text), IsOkAndHolds(c.want)) << c.text;
  }
}

TEST(ParseSurveyMonthTest, Rejected) {
  for (std::string_view bad :
       {"", "0", "13", "003", "-3", "3.0", "marz", "2025-02-30", "2023-02-29",
        "2025-13-01", "2025-00-10", "14-03-2025", "2025-3-14", "2025-03-14x",
        "03/14/2025"}) {
    EXPECT_THAT(
        ParseSurveyMonth(bad),
        StatusIs(kInvalid, AllOf(HasSubstr("survey month"), HasSubstr("1..12"),
                                 HasSubstr("2025-03-14"))))
        << bad;
  }
}

// --- ValidateRecord --------------------------------------------------------

class ValidateRecordTest : public ::testing::Test {
 protected:
  ValidateRecordTest() {
    record_.set_pseudonym(std::string(32, '\x5a'));
    record_.set_wave("2025-26");
    record_.set_survey_month(3);
    record_.set_sector(v1::SECTOR_VO);
    record_.set_track(v1::TRACK_HAVO);
    record_.set_grade(2);
    record_.set_gender(v1::GENDER_MEISJE);
    record_.set_age_band(v1::AGE_BAND_12_13);
    record_.set_instrument_id("kring-belonging-v1");
    for (size_t i = 0; i < inst_.items().size(); ++i) {
      record_.add_responses(static_cast<uint32_t>(i % 5));  // 0..4
    }
  }

  absl::Status Validate(bool special = false) const {
    return ValidateRecord(record_, inst_, special);
  }

  const Instrument& inst_ = Instrument::BelongingV1();
  v1::PupilRecord record_;
};

TEST_F(ValidateRecordTest, ValidRecord) {
  EXPECT_THAT(Validate(false), IsOk());
  EXPECT_THAT(Validate(true), IsOk());
}

TEST_F(ValidateRecordTest, Pseudonym) {
  record_.set_pseudonym(std::string(31, 'P'));
  absl::Status s = Validate();
  EXPECT_THAT(s, StatusIs(kInvalid, AllOf(HasSubstr("pseudonym has 31 bytes"),
                                          HasSubstr("32"))));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("PPP")));
  record_.clear_pseudonym();
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("pseudonym")));
}

TEST_F(ValidateRecordTest, Wave) {
  record_.set_wave("2025-27");
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("wave")));
  record_.clear_wave();
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("wave")));
}

TEST_F(ValidateRecordTest, SurveyMonth) {
  for (uint32_t m : {0u, 13u}) {
    record_.set_survey_month(m);
    EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("survey month"))) << m;
  }
}

TEST_F(ValidateRecordTest, Sector) {
  record_.set_sector(v1::SECTOR_UNSPECIFIED);
  EXPECT_THAT(Validate(),
              StatusIs(kInvalid,
                       AllOf(HasSubstr("sector is missing"), HasSubstr("vo"))));
  record_.set_sector(static_cast<v1::Sector>(42));
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("invalid value 42")));
}

TEST_F(ValidateRecordTest, Track) {
  record_.set_track(v1::TRACK_UNSPECIFIED);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("track is missing")));
  record_.set_track(static_cast<v1::Track>(12));
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("track has")));
}

TEST_F(ValidateRecordTest, TrackMustOccurInSector) {
  record_.set_track(v1::TRACK_MBO_2);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, AllOf(HasSubstr("mbo-2"),
                                                   HasSubstr("sector vo"))));
  record_.set_sector(v1::SECTOR_MBO);
  EXPECT_THAT(Validate(), IsOk());
  record_.set_sector(v1::SECTOR_PO);
  record_.set_track(v1::TRACK_HAVO);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("sector po")));
  record_.set_track(v1::TRACK_NVT);
  record_.set_grade(8);
  EXPECT_THAT(Validate(), IsOk());
  record_.set_sector(v1::SECTOR_VSO);
  record_.set_track(v1::TRACK_PRO);
  EXPECT_THAT(Validate(), IsOk());
  record_.set_sector(v1::SECTOR_VO);
  record_.set_track(v1::TRACK_NVT);  // combined first-year class
  record_.set_grade(1);
  EXPECT_THAT(Validate(), IsOk());
}

TEST_F(ValidateRecordTest, Grade) {
  for (uint32_t g : {0u, 7u, 9u}) {
    record_.set_grade(g);
    EXPECT_THAT(Validate(), StatusIs(kInvalid, AllOf(HasSubstr("grade"),
                                                     HasSubstr("1..6"))))
        << g;
  }
  record_.set_grade(6);
  EXPECT_THAT(Validate(), IsOk());
  record_.set_sector(v1::SECTOR_PO);
  record_.set_track(v1::TRACK_NVT);
  record_.set_grade(9);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("1..8")));
}

TEST_F(ValidateRecordTest, Gender) {
  record_.set_gender(v1::GENDER_UNSPECIFIED);
  EXPECT_THAT(Validate(),
              StatusIs(kInvalid, AllOf(HasSubstr("gender"),
                                       HasSubstr("wil niet zeggen"))));
  record_.set_gender(static_cast<v1::Gender>(7));
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("gender")));
}

TEST_F(ValidateRecordTest, AgeBand) {
  record_.set_age_band(v1::AGE_BAND_UNSPECIFIED);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("age band is missing")));
  record_.set_age_band(static_cast<v1::AgeBand>(7));
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("age band")));
}

TEST_F(ValidateRecordTest, InstrumentId) {
  record_.set_instrument_id("kring-belonging-v2");
  EXPECT_THAT(
      Validate(),
      StatusIs(kInvalid, AllOf(HasSubstr("kring-belonging-v2"),
                               HasSubstr("expected \"kring-belonging-v1\""))));
}

TEST_F(ValidateRecordTest, ResponseCount) {
  record_.add_responses(0);
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("responses")));
  record_.clear_responses();
  EXPECT_THAT(Validate(), StatusIs(kInvalid, HasSubstr("has 0 responses")));
}

TEST_F(ValidateRecordTest, ResponseCodes) {
  record_.set_responses(3, 5);
  EXPECT_THAT(
      Validate(),
      StatusIs(kInvalid, AllOf(HasSubstr("ST034Q04 is 5"), HasSubstr("1..4"),
                               HasSubstr("0 for a missing answer"))));
  record_.set_responses(3, 0);
  EXPECT_THAT(Validate(), IsOk());
}

TEST_F(ValidateRecordTest, SpecialCategoriesRefusedWhenDisabled) {
  record_.set_migration_background(v1::MIGRATION_BACKGROUND_FIRST_GENERATION);
  absl::Status s = Validate(false);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr("migration background"),
                                HasSubstr("special categories"))));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("eerste")));
  EXPECT_THAT(Validate(true), IsOk());

  record_.clear_migration_background();
  record_.set_financial_strain(v1::FINANCIAL_STRAIN_SEVERE);
  EXPECT_THAT(Validate(false), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("financial strain")));
  EXPECT_THAT(Validate(true), IsOk());
}

TEST_F(ValidateRecordTest, SpecialCategoriesMustBeValidWhenEnabled) {
  record_.set_migration_background(static_cast<v1::MigrationBackground>(9));
  EXPECT_THAT(Validate(true),
              StatusIs(kInvalid, HasSubstr("migration background")));
  record_.clear_migration_background();
  record_.set_financial_strain(static_cast<v1::FinancialStrain>(9));
  EXPECT_THAT(Validate(true),
              StatusIs(kInvalid, HasSubstr("financial strain")));
}

}  // namespace
}  // namespace kring::survey
