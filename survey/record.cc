#include "survey/record.h"

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "survey/text.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::survey {
namespace {

constexpr std::string_view kUnspecifiedName = "niet ingevuld";
constexpr std::string_view kInvalidName = "ongeldig";

// One accepted spelling of an enum value. In each table the first spelling
// of a value is its canonical (Dutch) name, the one Name() prints.
template <typename E>
struct Spelling {
  E value;
  std::string_view text;
};

// Compares spellings after NormalizeLabel and with '-' and '_' read as
// spaces, so "vmbo-gt", "VMBO GT" and "vmbo_gt" are one spelling.
std::string Key(std::string_view s) {
  std::string out = NormalizeLabel(s);
  for (char& c : out) {
    if (c == '-' || c == '_') c = ' ';
  }
  return NormalizeLabel(out);
}

// "pro (praktijkonderwijs, practical), vmbo-b (...), ...".
template <typename E>
std::string AcceptedList(std::span<const Spelling<E>> table) {
  std::string out;
  for (size_t i = 0; i < table.size(); ++i) {
    bool first_of_value = true;
    for (size_t j = 0; j < i; ++j) {
      first_of_value = first_of_value && table[j].value != table[i].value;
    }
    if (!first_of_value) continue;
    if (!out.empty()) out.append("; ");
    out.append(table[i].text);
    std::string aliases;
    for (size_t j = i + 1; j < table.size(); ++j) {
      if (table[j].value != table[i].value) continue;
      if (!aliases.empty()) aliases.append(", ");
      aliases.append(table[j].text);
    }
    if (!aliases.empty()) out.append(" (").append(aliases).append(")");
  }
  return out;
}

// Looks `s` up in `table`. `field` names the column in errors; when
// `sensitive` the offending value is not repeated (special-category data).
template <typename E>
absl::StatusOr<E> Lookup(std::span<const Spelling<E>> table,
                         std::string_view field, std::string_view s,
                         bool sensitive = false) {
  std::string key = Key(s);
  if (!key.empty()) {
    for (const Spelling<E>& sp : table) {
      if (Key(sp.text) == key) return sp.value;
    }
  }
  std::string shown = sensitive ? std::string(
                                      "the value (not shown: "
                                      "special-category data)")
                                : Quote(s);
  if (key.empty()) shown = "an empty value";
  return absl::InvalidArgumentError(
      StrCat(field, ": ", shown,
             " is not recognised; accepted values: ", AcceptedList(table)));
}

template <typename E>
std::string_view NameIn(std::span<const Spelling<E>> table, E v,
                        E unspecified) {
  if (v == unspecified) return kUnspecifiedName;
  for (const Spelling<E>& sp : table) {
    if (sp.value == v) return sp.text;
  }
  return kInvalidName;
}

constexpr Spelling<v1::Sector> kSectors[] = {
    {v1::SECTOR_PO, "po"},
    {v1::SECTOR_PO, "primair onderwijs"},
    {v1::SECTOR_PO, "basisonderwijs"},
    {v1::SECTOR_PO, "basisschool"},
    {v1::SECTOR_PO, "primary"},
    {v1::SECTOR_PO, "primary school"},
    {v1::SECTOR_VO, "vo"},
    {v1::SECTOR_VO, "voortgezet onderwijs"},
    {v1::SECTOR_VO, "secondary"},
    {v1::SECTOR_VO, "secondary school"},
    {v1::SECTOR_MBO, "mbo"},
    {v1::SECTOR_MBO, "middelbaar beroepsonderwijs"},
    {v1::SECTOR_MBO, "vocational"},
    {v1::SECTOR_SO, "so"},
    {v1::SECTOR_SO, "speciaal onderwijs"},
    {v1::SECTOR_SO, "special education"},
    {v1::SECTOR_SO, "special primary"},
    {v1::SECTOR_VSO, "vso"},
    {v1::SECTOR_VSO, "voortgezet speciaal onderwijs"},
    {v1::SECTOR_VSO, "special secondary"},
};

constexpr Spelling<v1::Track> kTracks[] = {
    {v1::TRACK_PRO, "pro"},
    {v1::TRACK_PRO, "praktijkonderwijs"},
    {v1::TRACK_PRO, "practical"},
    {v1::TRACK_VMBO_B, "vmbo-b"},
    {v1::TRACK_VMBO_B, "vmbo-bb"},
    {v1::TRACK_VMBO_B, "vmbo-bbl"},
    {v1::TRACK_VMBO_B, "vmbo basis"},
    {v1::TRACK_VMBO_B, "basis"},
    {v1::TRACK_VMBO_B, "basisberoepsgericht"},
    {v1::TRACK_VMBO_B, "basisberoepsgerichte leerweg"},
    {v1::TRACK_VMBO_B, "bb"},
    {v1::TRACK_VMBO_K, "vmbo-k"},
    {v1::TRACK_VMBO_K, "vmbo-kb"},
    {v1::TRACK_VMBO_K, "vmbo-kbl"},
    {v1::TRACK_VMBO_K, "vmbo kader"},
    {v1::TRACK_VMBO_K, "kader"},
    {v1::TRACK_VMBO_K, "kaderberoepsgericht"},
    {v1::TRACK_VMBO_K, "kaderberoepsgerichte leerweg"},
    {v1::TRACK_VMBO_K, "kb"},
    {v1::TRACK_VMBO_GT, "vmbo-gt"},
    {v1::TRACK_VMBO_GT, "vmbo-tl"},
    {v1::TRACK_VMBO_GT, "vmbo-gl"},
    {v1::TRACK_VMBO_GT, "vmbo-t"},
    {v1::TRACK_VMBO_GT, "vmbo-g"},
    {v1::TRACK_VMBO_GT, "vmbo-gl/tl"},
    {v1::TRACK_VMBO_GT, "vmbo theoretisch"},
    {v1::TRACK_VMBO_GT, "vmbo gemengd"},
    {v1::TRACK_VMBO_GT, "theoretische leerweg"},
    {v1::TRACK_VMBO_GT, "gemengde leerweg"},
    {v1::TRACK_VMBO_GT, "gl/tl"},
    {v1::TRACK_VMBO_GT, "gt"},
    {v1::TRACK_VMBO_GT, "tl"},
    {v1::TRACK_VMBO_GT, "gl"},
    {v1::TRACK_VMBO_GT, "mavo"},
    {v1::TRACK_HAVO, "havo"},
    {v1::TRACK_VWO, "vwo"},
    {v1::TRACK_VWO, "gymnasium"},
    {v1::TRACK_VWO, "atheneum"},
    {v1::TRACK_VWO, "lyceum"},
    {v1::TRACK_MBO_1, "mbo-1"},
    {v1::TRACK_MBO_1, "mbo1"},
    {v1::TRACK_MBO_1, "mbo niveau 1"},
    {v1::TRACK_MBO_1, "mbo level 1"},
    {v1::TRACK_MBO_1, "entree"},
    {v1::TRACK_MBO_1, "entreeopleiding"},
    {v1::TRACK_MBO_2, "mbo-2"},
    {v1::TRACK_MBO_2, "mbo2"},
    {v1::TRACK_MBO_2, "mbo niveau 2"},
    {v1::TRACK_MBO_2, "mbo level 2"},
    {v1::TRACK_MBO_2, "basisberoepsopleiding"},
    {v1::TRACK_MBO_3, "mbo-3"},
    {v1::TRACK_MBO_3, "mbo3"},
    {v1::TRACK_MBO_3, "mbo niveau 3"},
    {v1::TRACK_MBO_3, "mbo level 3"},
    {v1::TRACK_MBO_3, "vakopleiding"},
    {v1::TRACK_MBO_4, "mbo-4"},
    {v1::TRACK_MBO_4, "mbo4"},
    {v1::TRACK_MBO_4, "mbo niveau 4"},
    {v1::TRACK_MBO_4, "mbo level 4"},
    {v1::TRACK_MBO_4, "middenkaderopleiding"},
    {v1::TRACK_MBO_4, "specialistenopleiding"},
    {v1::TRACK_NVT, "n.v.t."},
    {v1::TRACK_NVT, "nvt"},
    {v1::TRACK_NVT, "n/a"},
    {v1::TRACK_NVT, "na"},
    {v1::TRACK_NVT, "niet van toepassing"},
    {v1::TRACK_NVT, "not applicable"},
};

// "M" is deliberately absent: Dutch exports use it for both "man" and
// "meisje".
constexpr Spelling<v1::Gender> kGenders[] = {
    {v1::GENDER_JONGEN, "jongen"},
    {v1::GENDER_JONGEN, "j"},
    {v1::GENDER_JONGEN, "man"},
    {v1::GENDER_JONGEN, "mannelijk"},
    {v1::GENDER_JONGEN, "boy"},
    {v1::GENDER_JONGEN, "male"},
    {v1::GENDER_MEISJE, "meisje"},
    {v1::GENDER_MEISJE, "vrouw"},
    {v1::GENDER_MEISJE, "vrouwelijk"},
    {v1::GENDER_MEISJE, "v"},
    {v1::GENDER_MEISJE, "girl"},
    {v1::GENDER_MEISJE, "female"},
    {v1::GENDER_MEISJE, "f"},
    {v1::GENDER_ANDERS, "anders"},
    {v1::GENDER_ANDERS, "non-binair"},
    {v1::GENDER_ANDERS, "x"},
    {v1::GENDER_ANDERS, "other"},
    {v1::GENDER_ANDERS, "non-binary"},
    {v1::GENDER_ANDERS, "nonbinary"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "wil niet zeggen"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "wil ik niet zeggen"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "zeg ik liever niet"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "liever niet"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "prefer not to say"},
    {v1::GENDER_WIL_NIET_ZEGGEN, "rather not say"},
};

constexpr Spelling<v1::AgeBand> kAgeBands[] = {
    {v1::AGE_BAND_UNDER_10, "<10"},
    {v1::AGE_BAND_UNDER_10, "jonger dan 10"},
    {v1::AGE_BAND_UNDER_10, "onder 10"},
    {v1::AGE_BAND_UNDER_10, "under 10"},
    {v1::AGE_BAND_UNDER_10, "younger than 10"},
    {v1::AGE_BAND_10_11, "10-11"},
    {v1::AGE_BAND_12_13, "12-13"},
    {v1::AGE_BAND_14_15, "14-15"},
    {v1::AGE_BAND_16_17, "16-17"},
    {v1::AGE_BAND_18_PLUS, "18+"},
    {v1::AGE_BAND_18_PLUS, "18 of ouder"},
    {v1::AGE_BAND_18_PLUS, "18 en ouder"},
    {v1::AGE_BAND_18_PLUS, "18 or older"},
    {v1::AGE_BAND_18_PLUS, "18 and over"},
};

constexpr Spelling<v1::MigrationBackground> kMigrationBackgrounds[] = {
    {v1::MIGRATION_BACKGROUND_NONE, "geen"},
    {v1::MIGRATION_BACKGROUND_NONE, "geen migratieachtergrond"},
    {v1::MIGRATION_BACKGROUND_NONE, "none"},
    {v1::MIGRATION_BACKGROUND_NONE, "no migration background"},
    {v1::MIGRATION_BACKGROUND_FIRST_GENERATION, "eerste generatie"},
    {v1::MIGRATION_BACKGROUND_FIRST_GENERATION, "1e generatie"},
    {v1::MIGRATION_BACKGROUND_FIRST_GENERATION, "first generation"},
    {v1::MIGRATION_BACKGROUND_FIRST_GENERATION, "1st generation"},
    {v1::MIGRATION_BACKGROUND_SECOND_GENERATION, "tweede generatie"},
    {v1::MIGRATION_BACKGROUND_SECOND_GENERATION, "2e generatie"},
    {v1::MIGRATION_BACKGROUND_SECOND_GENERATION, "second generation"},
    {v1::MIGRATION_BACKGROUND_SECOND_GENERATION, "2nd generation"},
    {v1::MIGRATION_BACKGROUND_UNKNOWN, "onbekend"},
    {v1::MIGRATION_BACKGROUND_UNKNOWN, "wil niet zeggen"},
    {v1::MIGRATION_BACKGROUND_UNKNOWN, "zeg ik liever niet"},
    {v1::MIGRATION_BACKGROUND_UNKNOWN, "unknown"},
    {v1::MIGRATION_BACKGROUND_UNKNOWN, "prefer not to say"},
};

constexpr Spelling<v1::FinancialStrain> kFinancialStrains[] = {
    {v1::FINANCIAL_STRAIN_NONE, "geen"},
    {v1::FINANCIAL_STRAIN_NONE, "geen moeite"},
    {v1::FINANCIAL_STRAIN_NONE, "none"},
    {v1::FINANCIAL_STRAIN_NONE, "no"},
    {v1::FINANCIAL_STRAIN_NONE, "nooit"},
    {v1::FINANCIAL_STRAIN_NONE, "never"},
    {v1::FINANCIAL_STRAIN_SOME, "enige"},
    {v1::FINANCIAL_STRAIN_SOME, "enige moeite"},
    {v1::FINANCIAL_STRAIN_SOME, "een beetje"},
    {v1::FINANCIAL_STRAIN_SOME, "some"},
    {v1::FINANCIAL_STRAIN_SOME, "soms"},
    {v1::FINANCIAL_STRAIN_SOME, "sometimes"},
    {v1::FINANCIAL_STRAIN_SEVERE, "ernstige"},
    {v1::FINANCIAL_STRAIN_SEVERE, "ernstig"},
    {v1::FINANCIAL_STRAIN_SEVERE, "veel moeite"},
    {v1::FINANCIAL_STRAIN_SEVERE, "severe"},
    {v1::FINANCIAL_STRAIN_SEVERE, "vaak"},
    {v1::FINANCIAL_STRAIN_SEVERE, "often"},
    {v1::FINANCIAL_STRAIN_SEVERE, "(bijna) altijd"},
    {v1::FINANCIAL_STRAIN_SEVERE, "altijd"},
    {v1::FINANCIAL_STRAIN_SEVERE, "always"},
    {v1::FINANCIAL_STRAIN_UNKNOWN, "onbekend"},
    {v1::FINANCIAL_STRAIN_UNKNOWN, "wil niet zeggen"},
    {v1::FINANCIAL_STRAIN_UNKNOWN, "zeg ik liever niet"},
    {v1::FINANCIAL_STRAIN_UNKNOWN, "unknown"},
    {v1::FINANCIAL_STRAIN_UNKNOWN, "prefer not to say"},
};

struct MonthName {
  uint32_t month;
  std::string_view text;
};
constexpr MonthName kMonths[] = {
    {1, "januari"},   {1, "january"}, {1, "jan"},       {2, "februari"},
    {2, "february"},  {2, "feb"},     {3, "maart"},     {3, "march"},
    {3, "mrt"},       {3, "mar"},     {4, "april"},     {4, "apr"},
    {5, "mei"},       {5, "may"},     {6, "juni"},      {6, "june"},
    {6, "jun"},       {7, "juli"},    {7, "july"},      {7, "jul"},
    {8, "augustus"},  {8, "august"},  {8, "aug"},       {9, "september"},
    {9, "sep"},       {9, "sept"},    {10, "oktober"},  {10, "october"},
    {10, "okt"},      {10, "oct"},    {11, "november"}, {11, "nov"},
    {12, "december"}, {12, "dec"},
};

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsLeapYear(uint32_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

uint32_t DaysInMonth(uint32_t year, uint32_t month) {
  constexpr uint32_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// The band of a single age, or nullopt outside 4..99.
std::optional<v1::AgeBand> BandOfAge(uint32_t age) {
  if (age < 4 || age > 99) return std::nullopt;
  if (age < 10) return v1::AGE_BAND_UNDER_10;
  if (age < 12) return v1::AGE_BAND_10_11;
  if (age < 14) return v1::AGE_BAND_12_13;
  if (age < 16) return v1::AGE_BAND_14_15;
  if (age < 18) return v1::AGE_BAND_16_17;
  return v1::AGE_BAND_18_PLUS;
}

std::string_view StripSuffix(std::string_view s, std::string_view suffix) {
  if (s.size() >= suffix.size() &&
      s.substr(s.size() - suffix.size()) == suffix) {
    s.remove_suffix(suffix.size());
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  }
  return s;
}

// Whether `track` occurs in `sector`. n.v.t. is admitted in (v)so and vo
// too: a vo pupil in a combined first-year class (brugklas havo/vwo) has
// no single track yet.
bool TrackFitsSector(v1::Sector sector, v1::Track track) {
  switch (sector) {
    case v1::SECTOR_PO:
    case v1::SECTOR_SO:
      return track == v1::TRACK_NVT;
    case v1::SECTOR_VO:
    case v1::SECTOR_VSO:
      return track == v1::TRACK_NVT ||
             (track >= v1::TRACK_PRO && track <= v1::TRACK_VWO);
    case v1::SECTOR_MBO:
      return track >= v1::TRACK_MBO_1 && track <= v1::TRACK_MBO_4;
    default:
      return false;
  }
}

absl::Status RecordError(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("record: ", what));
}

// A required enum field: set, and one of the proto's values.
template <typename E>
absl::Status CheckEnum(std::string_view field, E value, E unspecified,
                       bool (*is_valid)(int),
                       std::span<const Spelling<E>> table) {
  if (value == unspecified) {
    return RecordError(StrCat(
        "the ", field, " is missing; set it to one of: ", AcceptedList(table)));
  }
  if (!is_valid(value)) {
    return RecordError(StrCat("the ", field, " has the invalid value ",
                              static_cast<int>(value),
                              "; set it to one of: ", AcceptedList(table)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Sector> ParseSector(std::string_view s) {
  return Lookup<v1::Sector>(kSectors, "sector", s);
}

absl::StatusOr<v1::Track> ParseTrack(std::string_view s) {
  absl::StatusOr<v1::Track> t = Lookup<v1::Track>(kTracks, "track", s);
  if (!t.ok() && s.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat(ToStd(t.status().message()),
               ". A combined class such as havo/vwo is not a track: record "
               "the pupil's own track, or n.v.t. in a combined first year"));
  }
  return t;
}

absl::StatusOr<v1::Gender> ParseGender(std::string_view s) {
  if (Key(s) == "m") {
    return absl::InvalidArgumentError(
        "gender: \"m\" is ambiguous (man or meisje); export jongen/meisje or "
        "boy/girl instead");
  }
  return Lookup<v1::Gender>(kGenders, "gender", s);
}

absl::StatusOr<v1::AgeBand> ParseAgeBand(std::string_view s) {
  std::string norm = NormalizeLabel(s);
  // An en dash, as spreadsheets like to write ranges.
  for (size_t at; (at = norm.find("\xE2\x80\x93")) != std::string::npos;) {
    norm.replace(at, 3, "-");
  }
  std::string_view v = norm;
  for (std::string_view suffix : {"years old", "years", "jaar", "jr"}) {
    v = StripSuffix(v, suffix);
  }
  if (IsDigits(v)) {
    std::optional<uint32_t> age = ParseDecimal(v);
    std::optional<v1::AgeBand> band =
        age.has_value() ? BandOfAge(*age) : std::nullopt;
    if (band.has_value()) return *band;
    return absl::InvalidArgumentError(
        StrCat("age band: age ", Quote(s),
               " is outside 4..99; check that the column holds ages"));
  }
  // A range "12-13" or "12 - 13" must be exactly one band.
  if (size_t dash = v.find('-'); dash != std::string_view::npos) {
    std::string_view lo = v.substr(0, dash), hi = v.substr(dash + 1);
    while (!lo.empty() && lo.back() == ' ') lo.remove_suffix(1);
    while (!hi.empty() && hi.front() == ' ') hi.remove_prefix(1);
    if (IsDigits(lo) && IsDigits(hi)) {
      std::string canonical = StrCat(lo, "-", hi);
      for (const Spelling<v1::AgeBand>& sp : kAgeBands) {
        if (sp.text == canonical) return sp.value;
      }
      return absl::InvalidArgumentError(StrCat(
          "age band: range ", Quote(s),
          " is not one of kring's bands; accepted values: ",
          AcceptedList<v1::AgeBand>(kAgeBands), "; or a single age 4..99"));
    }
  }
  absl::StatusOr<v1::AgeBand> band =
      Lookup<v1::AgeBand>(kAgeBands, "age band", v);
  if (!band.ok()) {
    return absl::InvalidArgumentError(StrCat(
        "age band: ", Quote(s), " is not recognised; accepted values: ",
        AcceptedList<v1::AgeBand>(kAgeBands), "; or a single age 4..99"));
  }
  return band;
}

absl::StatusOr<v1::MigrationBackground> ParseMigrationBackground(
    std::string_view s) {
  return Lookup<v1::MigrationBackground>(
      kMigrationBackgrounds, "migration background", s, /*sensitive=*/true);
}

absl::StatusOr<v1::FinancialStrain> ParseFinancialStrain(std::string_view s) {
  return Lookup<v1::FinancialStrain>(kFinancialStrains, "financial strain", s,
                                     /*sensitive=*/true);
}

absl::Status ValidateWave(std::string_view wave) {
  bool ok = wave.size() == 7 && IsDigits(wave.substr(0, 4)) && wave[4] == '-' &&
            IsDigits(wave.substr(5, 2));
  if (ok) {
    uint32_t first = *ParseDecimal(wave.substr(0, 4));
    uint32_t second = *ParseDecimal(wave.substr(5, 2));
    if (first < 2000 || first > 2099) {
      return absl::InvalidArgumentError(StrCat(
          "wave ", Quote(wave), ": the school year must start in 2000..2099"));
    }
    ok = second == (first + 1) % 100;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        StrCat("wave ", Quote(wave),
               " is not a school year; write it as e.g. 2025-26 (four-digit "
               "first year, dash, last two digits of the next year)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ParseSurveyMonth(std::string_view s) {
  std::string norm = NormalizeLabel(s);
  std::string_view v = norm;
  if (!v.empty() && v.back() == '.') v.remove_suffix(1);  // "mrt."
  auto error = [&] {
    return absl::InvalidArgumentError(
        StrCat("survey month: ", Quote(s),
               " is not recognised; use a number 1..12, a month name "
               "(maart, march, mrt, ...), a year and month such as 2025-11 "
               "or a date such as 2025-03-14"));
  };
  if (IsDigits(v) && v.size() <= 2) {
    uint32_t m = *ParseDecimal(v);
    if (m >= 1 && m <= 12) return m;
    return error();
  }
  for (const MonthName& m : kMonths) {
    if (m.text == v) return m.month;
  }
  // Year and month only ("2025-11").
  if (v.size() == 7 && IsDigits(v.substr(0, 4)) && v[4] == '-' &&
      IsDigits(v.substr(5, 2))) {
    uint32_t month = *ParseDecimal(v.substr(5, 2));
    if (month >= 1 && month <= 12) return month;
  }
  // ISO date, optionally followed by a time ("2025-03-14T09:30:00").
  if (v.size() >= 10 && IsDigits(v.substr(0, 4)) && v[4] == '-' &&
      IsDigits(v.substr(5, 2)) && v[7] == '-' && IsDigits(v.substr(8, 2)) &&
      (v.size() == 10 || v[10] == 't' || v[10] == ' ')) {
    uint32_t year = *ParseDecimal(v.substr(0, 4));
    uint32_t month = *ParseDecimal(v.substr(5, 2));
    uint32_t day = *ParseDecimal(v.substr(8, 2));
    if (month >= 1 && month <= 12 && day >= 1 &&
        day <= DaysInMonth(year, month)) {
      return month;
    }
  }
  return error();
}

std::string NormalizePupilNumber(std::string_view pupil_number) {
  std::string out;
  out.reserve(pupil_number.size());
  for (size_t i = 0; i < pupil_number.size(); ++i) {
    const char c = pupil_number[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
        c == '\v') {
      continue;
    }
    if (c == '\xC2' && i + 1 < pupil_number.size() &&
        pupil_number[i + 1] == '\xA0') {
      ++i;  // U+00A0 no-break space
      continue;
    }
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string_view Name(v1::Sector v) {
  return NameIn<v1::Sector>(kSectors, v, v1::SECTOR_UNSPECIFIED);
}
std::string_view Name(v1::Track v) {
  return NameIn<v1::Track>(kTracks, v, v1::TRACK_UNSPECIFIED);
}
std::string_view Name(v1::Gender v) {
  return NameIn<v1::Gender>(kGenders, v, v1::GENDER_UNSPECIFIED);
}
std::string_view Name(v1::AgeBand v) {
  return NameIn<v1::AgeBand>(kAgeBands, v, v1::AGE_BAND_UNSPECIFIED);
}
std::string_view Name(v1::MigrationBackground v) {
  return NameIn<v1::MigrationBackground>(kMigrationBackgrounds, v,
                                         v1::MIGRATION_BACKGROUND_UNSPECIFIED);
}
std::string_view Name(v1::FinancialStrain v) {
  return NameIn<v1::FinancialStrain>(kFinancialStrains, v,
                                     v1::FINANCIAL_STRAIN_UNSPECIFIED);
}

std::vector<Component> ComponentsAsked(const v1::PupilRecord& record,
                                       const Instrument& instrument) {
  const size_t n = instrument.items().size();
  std::vector<bool> asked(n, true);
  for (uint32_t i : record.not_asked()) {
    if (i < n) asked[i] = false;
  }
  std::vector<Component> out;
  for (Component c : {Component::kCompetencies, Component::kOpportunities,
                      Component::kMotivation, Component::kPerceptions}) {
    for (size_t i = 0; i < n; ++i) {
      if (asked[i] && instrument.items()[i].component == c) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

absl::Status ValidateRecord(const v1::PupilRecord& record,
                            const Instrument& instrument,
                            bool special_categories) {
  if (record.pseudonym().size() != 32) {
    return RecordError(StrCat("the pseudonym has ", record.pseudonym().size(),
                              " bytes; it must be 32 (BLAKE2b-256 of the "
                              "pupil number under the school's key)"));
  }
  if (absl::Status s = ValidateWave(record.wave()); !s.ok()) {
    return RecordError(ToStd(s.message()));
  }
  if (record.survey_month() < 1 || record.survey_month() > 12) {
    return RecordError(
        StrCat("survey month ", record.survey_month(), " is outside 1..12"));
  }
  KRING_RETURN_IF_ERROR(CheckEnum<v1::Sector>("sector", record.sector(),
                                              v1::SECTOR_UNSPECIFIED,
                                              v1::Sector_IsValid, kSectors));
  KRING_RETURN_IF_ERROR(CheckEnum<v1::Track>("track", record.track(),
                                             v1::TRACK_UNSPECIFIED,
                                             v1::Track_IsValid, kTracks));
  if (!TrackFitsSector(record.sector(), record.track())) {
    return RecordError(
        StrCat("track ", Name(record.track()), " does not occur in sector ",
               Name(record.sector()), "; check the sector and track columns"));
  }
  const uint32_t max_grade = record.sector() == v1::SECTOR_VO ? 6 : 8;
  if (record.grade() < 1 || record.grade() > max_grade) {
    return RecordError(StrCat("grade ", record.grade(), " is outside 1..",
                              max_grade, " for sector ",
                              Name(record.sector())));
  }
  KRING_RETURN_IF_ERROR(CheckEnum<v1::Gender>("gender", record.gender(),
                                              v1::GENDER_UNSPECIFIED,
                                              v1::Gender_IsValid, kGenders));
  KRING_RETURN_IF_ERROR(CheckEnum<v1::AgeBand>("age band", record.age_band(),
                                               v1::AGE_BAND_UNSPECIFIED,
                                               v1::AgeBand_IsValid, kAgeBands));
  if (record.instrument_id() != instrument.id()) {
    return RecordError(StrCat("the responses follow instrument ",
                              Quote(record.instrument_id()), ", expected \"",
                              instrument.id(), "\""));
  }
  const size_t n = instrument.items().size();
  if (static_cast<size_t>(record.responses_size()) != n) {
    return RecordError(StrCat("has ", record.responses_size(),
                              " responses; instrument ", instrument.id(),
                              " has ", n, " items (0 marks a missing answer)"));
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t code = record.responses(static_cast<int>(i));
    if (!instrument.IsValidCode(i, code)) {
      const ResponseScale& rs = instrument.ResponseScaleOf(i);
      return RecordError(StrCat("the response to item ",
                                instrument.items()[i].id, " is ", code,
                                "; valid codes are ", rs.min_code(), "..",
                                rs.max_code(), ", or 0 for a missing answer"));
    }
  }
  for (int k = 0; k < record.not_asked_size(); ++k) {
    const uint32_t i = record.not_asked(k);
    if (i >= n || (k > 0 && i <= record.not_asked(k - 1))) {
      return RecordError(
          "the list of items not asked is not increasing item indices of "
          "the instrument");
    }
    if (record.responses(static_cast<int>(i)) != 0) {
      return RecordError(StrCat("item ", instrument.items()[i].id,
                                " was not asked but has an answer"));
    }
  }
  const bool has_migration =
      record.migration_background() != v1::MIGRATION_BACKGROUND_UNSPECIFIED;
  const bool has_strain =
      record.financial_strain() != v1::FINANCIAL_STRAIN_UNSPECIFIED;
  if (!special_categories && (has_migration || has_strain)) {
    return absl::FailedPreconditionError(
        StrCat("record: carries ",
               has_migration ? "a migration background" : "a financial strain",
               " but this node does not store special-category data; drop that "
               "column on import, or enable special categories in the node "
               "configuration"));
  }
  if (!v1::MigrationBackground_IsValid(record.migration_background())) {
    return RecordError("the migration background is not a valid value");
  }
  if (!v1::FinancialStrain_IsValid(record.financial_strain())) {
    return RecordError("the financial strain is not a valid value");
  }
  return absl::OkStatus();
}

}  // namespace kring::survey
