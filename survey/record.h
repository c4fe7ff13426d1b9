#ifndef KRING_SURVEY_RECORD_H_
#define KRING_SURVEY_RECORD_H_

// Parsing and naming of the record fields schools export (Dutch first,
// English accepted), and validation of a whole record.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/record.pb.h"
#include "survey/instrument.h"

namespace kring::survey {

// Each parser accepts the canonical Dutch value (as Name() prints it), its
// common spellings and English equivalents, case-insensitively, and errors
// (INVALID_ARGUMENT) with the list of accepted values otherwise. Errors
// quote at most the offending value (cut at 40 bytes); the special-category
// parsers do not repeat it at all.
absl::StatusOr<v1::Sector> ParseSector(std::string_view s);  // "vo", "VO"
absl::StatusOr<v1::Track> ParseTrack(std::string_view s);  // "vmbo-gt", "mavo"
absl::StatusOr<v1::Gender> ParseGender(std::string_view s);  // "meisje", "girl"
absl::StatusOr<v1::AgeBand> ParseAgeBand(std::string_view s);  // "12-13", "13"
absl::StatusOr<v1::MigrationBackground> ParseMigrationBackground(
    std::string_view s);
absl::StatusOr<v1::FinancialStrain> ParseFinancialStrain(std::string_view s);
// A school year "2025-26" (second part is the first + 1).
absl::Status ValidateWave(std::string_view wave);
// 1..12, from "3", "03", "maart", "march", a year and month "2025-11", or
// an ISO date "2025-03-14" (only the month is kept).
absl::StatusOr<uint32_t> ParseSurveyMonth(std::string_view s);

// Canonical Dutch names; UNSPECIFIED prints as "niet ingevuld" and a value
// outside the enum as "ongeldig". Static storage.
std::string_view Name(v1::Sector v);   // "vo"
std::string_view Name(v1::Track v);    // "vmbo-gt"
std::string_view Name(v1::Gender v);   // "wil niet zeggen"
std::string_view Name(v1::AgeBand v);  // "12-13"
std::string_view Name(v1::MigrationBackground v);
std::string_view Name(v1::FinancialStrain v);

// The canonical form of a pupil number, used for pseudonyms and duplicate
// checks alike: every whitespace character (including the no-break space
// spreadsheets produce) removed, ASCII letters upper-cased ("ab 12\u00A0"
// -> "AB12"). The caller wipes the result when done.
std::string NormalizePupilNumber(std::string_view pupil_number);

// The components of `instrument` of which `record` was asked at least one
// item (items listed in record.not_asked() were not asked), in the order
// of Component. Records stored before not_asked existed were asked all.
std::vector<Component> ComponentsAsked(const v1::PupilRecord& record,
                                       const Instrument& instrument);

// Checks a complete record against `instrument`: 32-byte pseudonym, valid
// wave and month, every enum set, grade 1..8, one response per item with a
// valid code, items not asked listed once in order with response 0, and
// special-category fields only when `special_categories` is true. Also checks
// that the track occurs in the sector (po/so: n.v.t.; vo/vso: pro..vwo or
// n.v.t.; mbo: mbo-1..mbo-4) and grade <= 6 in vo. INVALID_ARGUMENT names the
// first failing field; FAILED_PRECONDITION when special-category data is
// present but not enabled. Never echoes the pseudonym or special-category
// values.
absl::Status ValidateRecord(const v1::PupilRecord& record,
                            const Instrument& instrument,
                            bool special_categories);

}  // namespace kring::survey

#endif  // KRING_SURVEY_RECORD_H_
